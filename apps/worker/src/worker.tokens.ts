export const NMAP = Symbol('NMAP');
export const WORKER_ID = Symbol('WORKER_ID');
