import { Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Principal, UserRecord } from '#domain';
import { unrevokedTokens } from '#domain';
import { Access, ACCESS_VIEW, Authenticated, CurrentPrincipal, type AccessView } from '#platform';
import { AccessCommandsService, actorOf } from '../access/access-commands.service.js';
import { CreateUserRequestDto, RotateTokenRequestDto, TokenOptionsDto, UpdateUserRequestDto } from './users.request.dto.js';

const userView = (u: UserRecord) => ({ id: u.userId, username: u.username, kind: u.kind, admin: u.admin, status: u.status, createdAt: u.createdAt });

@ApiTags('users')
@ApiBearerAuth()
@Controller()
export class UsersHttpController {
  constructor(
    private readonly commands: AccessCommandsService,
    @Inject(ACCESS_VIEW) private readonly view: AccessView,
  ) {}

  @Get('auth/whoami')
  @Authenticated()
  whoami(@CurrentPrincipal() p: Principal) {
    return { id: p.id, username: p.username, kind: p.kind, admin: p.admin, tokenId: p.tokenId };
  }

  @Post('users')
  @Access('users.manage')
  async create(@Body() dto: CreateUserRequestDto, @CurrentPrincipal() p: Principal) {
    const d = await this.commands.identity({
      type: 'CreateUser', actor: actorOf(p), username: dto.username, kind: dto.kind ?? 'user', admin: dto.admin ?? false,
      token: { expiresAt: dto.expiresAt, lifetimeSeconds: dto.lifetimeSeconds, label: dto.label ?? null },
    });
    const u = this.view.identity.users.get(d.userId)!;
    return { ...userView(u), token: d.token?.reveal(), tokenId: d.token?.tokenId, note: 'the token is shown once; store it now' };
  }

  @Get('users')
  @Access('users.manage')
  list() {
    return { items: [...this.view.identity.users.values()].filter((u) => u.status !== 'deleted').map(userView) };
  }

  @Get('users/:userId')
  @Access('users.manage', { selfParam: 'userId', selfAction: 'tokens.own' })
  get(@Param('userId') userId: string) {
    const u = this.view.identity.users.get(userId);
    if (!u || u.status === 'deleted') throw new NotFoundException(`user ${userId} not found`);
    return userView(u);
  }

  @Patch('users/:userId')
  @Access('users.manage')
  async update(@Param('userId') userId: string, @Body() dto: UpdateUserRequestDto, @CurrentPrincipal() p: Principal) {
    if (dto.admin !== undefined) await this.commands.identity({ type: 'UpdateUser', actor: actorOf(p), userId, admin: dto.admin });
    if (dto.disabled === true) await this.commands.identity({ type: 'DisableUser', actor: actorOf(p), userId });
    if (dto.disabled === false) await this.commands.identity({ type: 'EnableUser', actor: actorOf(p), userId });
    return this.get(userId);
  }

  @Delete('users/:userId')
  @Access('users.manage')
  @HttpCode(204)
  async remove(@Param('userId') userId: string, @CurrentPrincipal() p: Principal) {
    await this.commands.identity({ type: 'DeleteUser', actor: actorOf(p), userId });
  }

  @Get('users/:userId/tokens')
  @Access('users.manage', { selfParam: 'userId', selfAction: 'tokens.own' })
  tokens(@Param('userId') userId: string) {
    return {
      items: unrevokedTokens(this.view.identity, userId).map((t) => ({ tokenId: t.tokenId, label: t.label, issuedAt: t.issuedAt, expiresAt: t.expiresAt })),
    };
  }

  @Post('users/:userId/tokens')
  @Access('users.manage', { selfParam: 'userId', selfAction: 'tokens.own' })
  async issue(@Param('userId') userId: string, @Body() dto: TokenOptionsDto, @CurrentPrincipal() p: Principal) {
    const d = await this.commands.identity({ type: 'IssueToken', actor: actorOf(p), userId, expiresAt: dto.expiresAt, lifetimeSeconds: dto.lifetimeSeconds, label: dto.label ?? null });
    return { tokenId: d.token!.tokenId, token: d.token!.reveal(), note: 'the token is shown once; store it now' };
  }

  @Post('users/:userId/tokens/:tokenId/rotate')
  @Access('users.manage', { selfParam: 'userId', selfAction: 'tokens.own' })
  async rotate(@Param('userId') userId: string, @Param('tokenId') tokenId: string, @Body() dto: RotateTokenRequestDto, @CurrentPrincipal() p: Principal) {
    const d = await this.commands.identity({ type: 'RotateToken', actor: actorOf(p), userId, tokenId, expiresAt: dto.expiresAt, lifetimeSeconds: dto.lifetimeSeconds });
    return { tokenId: d.token!.tokenId, token: d.token!.reveal(), revoked: tokenId, note: 'the old token no longer works' };
  }

  @Delete('users/:userId/tokens/:tokenId')
  @Access('users.manage', { selfParam: 'userId', selfAction: 'tokens.own' })
  @HttpCode(204)
  async revoke(@Param('userId') userId: string, @Param('tokenId') tokenId: string, @CurrentPrincipal() p: Principal) {
    await this.commands.identity({ type: 'RevokeToken', actor: actorOf(p), userId, tokenId });
  }
}
