import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginConfigPath, parseCoordinatorUrls, resolveLogin, writeLoginFile } from './login-config.js';

describe('the login file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-login-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lives under XDG_CONFIG_HOME, else ~/.config', () => {
    expect(loginConfigPath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/hiveforge/config.json');
    expect(loginConfigPath({ XDG_CONFIG_HOME: 'relative', HOME: '/h' })).toMatch(
      /\/\.config\/hiveforge\/config\.json$/,
    );
  });

  it('is written 0600 even over a wider file; HIVEFORGE_URL and HIVEFORGE_TOKEN each override their part', async () => {
    const env = { XDG_CONFIG_HOME: dir };
    const path = loginConfigPath(env);
    await writeLoginFile(path, { urls: ['http://a:1'], token: 'hfu_x' });
    await chmod(path, 0o644);
    await writeLoginFile(path, { urls: ['http://a:1', 'http://b:2'], token: 'hfu_file' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await resolveLogin(env)).toMatchObject({ urls: ['http://a:1', 'http://b:2'], token: 'hfu_file' });
    expect(await resolveLogin({ ...env, HIVEFORGE_TOKEN: 'hfu_env' })).toMatchObject({
      urls: ['http://a:1', 'http://b:2'],
      token: 'hfu_env',
    });
    expect(await resolveLogin({ ...env, HIVEFORGE_URL: 'http://c:3/' })).toMatchObject({
      urls: ['http://c:3'],
      token: 'hfu_file',
    });
  });

  it('missing, or not a login file: an HF_CONFIG error with the login hint', async () => {
    const env = { XDG_CONFIG_HOME: dir };
    await expect(resolveLogin(env)).rejects.toMatchObject({
      code: 'HF_CONFIG',
      message: expect.stringMatching(/not logged in: no coordinator and no token .*run hiveforge login URL --token T$/),
    });
    await expect(resolveLogin({ ...env, HIVEFORGE_TOKEN: 'hfu_env' })).rejects.toThrow(/not logged in: no coordinator/);
    await writeLoginFile(loginConfigPath(env), { urls: ['http://a:1'], token: 'hfu_x' });
    await writeFile(loginConfigPath(env), '{"urls": "http://a:1"}');
    await expect(resolveLogin(env)).rejects.toMatchObject({
      code: 'HF_CONFIG',
      message: expect.stringMatching(/urls/),
    });
  });

  it('takes http(s) URLs only', () => {
    expect(() => parseCoordinatorUrls('ftp://a', 'x')).toThrow(/not an http\(s\) URL/);
    expect(() => parseCoordinatorUrls('nope', 'x')).toThrow(/not a URL/);
    expect(parseCoordinatorUrls(' http://a:1/ , https://b ', 'x')).toEqual(['http://a:1', 'https://b']);
  });
});
