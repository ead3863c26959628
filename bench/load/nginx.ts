/**
 * nginx `proxy_pass` in front of the upstream (the floor of any proxy here), when `nginx` is on
 * the PATH (`apt-get install -y nginx-light`). Runs from a temp folder with its own config
 * (`nginx -c CONF -p DIR`) and is stopped by the PID in its pid file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, onCleanup, sleep, waitForOk } from './processes.js';

export function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function config(dir: string, port: number, upstreamPort: number): string {
  const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
  return `worker_processes auto;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  upstream dify { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://dify;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
}

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/** Starts nginx on a free loopback port, or returns undefined when nginx is not installed. */
export async function startNginx(upstreamUrl: string): Promise<Nginx | undefined> {
  const binary = which('nginx');
  if (!binary) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-nginx-'));
  const removeDir = onCleanup('nginx folder', () => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, config(dir, port, Number(new URL(upstreamUrl).port)));
  const pidFile = join(dir, 'nginx.pid');
  const stop = onCleanup('nginx', async () => {
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      return; // already gone
    }
    for (let i = 0; i < 50 && existsSync(pidFile); i++) await sleep(100);
    if (existsSync(pidFile)) process.kill(pid, 'SIGKILL');
  });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  execFileSync(binary, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/health`, 10_000);
  return {
    url,
    async stop() {
      await stop();
      await removeDir();
    },
  };
}
