import { jest } from '@jest/globals';

// Integration tests wait on real brokers, databases and nmap; timing bars live in benchmarks.
jest.setTimeout(180000);
