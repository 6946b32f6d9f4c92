import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalContext } from './__fixtures__/local-context.js';
import { cargo, gradle, maven, sbt } from './build-tools.js';

describe('build-tool actions (the real tools where installed)', () => {
  it('cargo appends args to the subcommand and runs in cwd (cargo init --name, offline)', async () => {
    await using local = await createLocalContext();
    await mkdir(join(local.workspace, 'crate'));
    await cargo(local.ctx, {
      command: 'init',
      cwd: 'crate',
      args: ['--name', 'hf_flags_demo', '--vcs', 'none'],
      // The job's HOME is its own: rustup finds its toolchains only through this env.
      env: { RUSTUP_HOME: process.env.RUSTUP_HOME ?? join(homedir(), '.rustup'), CARGO_NET_OFFLINE: 'true' },
    });
    expect(await readFile(join(local.workspace, 'crate', 'Cargo.toml'), 'utf8')).toMatch(/name = "hf_flags_demo"/);
    expect(local.commands.at(-1)?.command).toBe('cargo init --name hf_flags_demo --vcs none');
  });

  it('maven runs in batch mode with the goals, then the args', async () => {
    await using local = await createLocalContext();
    await maven(local.ctx, { goals: [], args: ['--version'], env: { MAVEN_OPTS: '-Dhf.flag=1' } });
    expect(local.commands.at(-1)).toMatchObject({ command: 'mvn -B --version', exitCode: 0 });
    expect(local.commands.at(-1)?.stdout).toMatch(/Apache Maven \d/);
  });

  it('sbt gets -batch, the commands, then the args, with env (an sbt on the PATH env gives)', async () => {
    // sbt is not installed here: a stand-in on the PATH that `env` sets records its arguments.
    await using local = await createLocalContext();
    const bin = join(local.workspace, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'sbt'), '#!/bin/sh\nprintf "%s\\n" "$@" > "$SBT_ARGS_FILE"\n');
    await chmod(join(bin, 'sbt'), 0o755);
    await sbt(local.ctx, {
      commands: ['compile', 'testOnly a.B'],
      args: ['-Dsbt.log.noformat=true'],
      env: { PATH: `${bin}:${process.env.PATH}`, SBT_ARGS_FILE: join(local.workspace, 'args.txt') },
    });
    expect((await readFile(join(local.workspace, 'args.txt'), 'utf8')).split('\n')).toEqual([
      '-batch',
      'compile',
      'testOnly a.B',
      '-Dsbt.log.noformat=true',
      '',
    ]);
  });

  it('maven, cargo and gradle restore their package caches keyed by their build files; cache: false opts out', async () => {
    await using local = await createLocalContext();
    await writeFile(join(local.workspace, 'pom.xml'), '<project/>');
    await mkdir(join(local.workspace, 'crate'));
    await writeFile(join(local.workspace, 'crate', 'Cargo.lock'), 'version = 3\n');
    await writeFile(join(local.workspace, 'settings.gradle.kts'), 'rootProject.name = "x"\n');
    const bin = join(local.workspace, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'gradle'), '#!/bin/sh\necho "gradle $*"\n');
    await chmod(join(bin, 'gradle'), 0o755);
    await maven(local.ctx, { goals: [], args: ['--version'] });
    await cargo(local.ctx, {
      command: '--version',
      cwd: 'crate',
      env: { RUSTUP_HOME: process.env.RUSTUP_HOME ?? join(homedir(), '.rustup') },
    });
    await gradle(local.ctx, { tasks: ['build'], env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(local.commands.at(-1)).toMatchObject({ command: 'gradle build', stdout: 'gradle build\n' });
    expect(local.caches).toEqual([
      {
        key: `maven-${await local.ctx.hashFiles('pom.xml')}`,
        paths: ['~/.m2/repository'],
        restoreKeys: ['maven-'],
        save: true,
        skipHostHome: true,
      },
      {
        key: `cargo-${await local.ctx.hashFiles('crate/Cargo.lock')}`,
        paths: ['~/.cargo/registry/index', '~/.cargo/registry/cache', '~/.cargo/git/db'],
        restoreKeys: ['cargo-'],
        save: true,
        skipHostHome: true,
      },
      {
        key: `gradle-${await local.ctx.hashFiles('settings.gradle.kts')}`,
        paths: ['~/.gradle/caches', '~/.gradle/wrapper'],
        restoreKeys: ['gradle-'],
        save: true,
        skipHostHome: true,
      },
    ]);
    await maven(local.ctx, { goals: [], args: ['--version'], cache: false });
    await gradle(local.ctx, { tasks: ['build'], env: { PATH: `${bin}:${process.env.PATH}` }, cache: false });
    expect(local.caches).toHaveLength(3);
  });

  it('without build files there is no key: nothing is cached', async () => {
    await using local = await createLocalContext();
    await maven(local.ctx, { goals: [], args: ['--version'] });
    expect(local.caches).toEqual([]);
    expect(local.log).toContain('cache maven: none of **/pom.xml exists; not cached');
  });
});
