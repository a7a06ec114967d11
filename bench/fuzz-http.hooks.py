# Schemathesis checks for `npm run fuzz:http` (bench/fuzz-http.ts), loaded via SCHEMATHESIS_HOOKS.
# Besides not_a_server_error: no response body may carry a stack trace, a source path or a
# database/broker driver error (the apps answer { statusCode, error, message } and nothing more).
import re

import schemathesis

LEAK = re.compile(
    r"\n\s+at \S"  # V8 stack frames
    r"|\bat [\w.<>$\[\] ]+ \((?:file:|/|node:)"
    r"|node_modules/"
    r"|\.[jt]sx?:\d+:\d+"
    r"|Traceback \(most recent call last\)"
    r"|syntax error at or near|violates (?:unique|foreign key|check) constraint|QueryFailedError|DriverException"
    r"|KafkaJS\w*Error"
)


@schemathesis.check
def no_stack_trace(ctx, response, case):
    """Response bodies never carry stack traces, source paths or driver errors."""
    text = (response.content or b"").decode("utf-8", "replace")
    found = LEAK.search(text)
    if found:
        raise AssertionError(f"the response body leaks internals: {found.group(0)!r}")
