import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('a', { secrets: ['A'] }, async (c) => {
    c.log(c.secrets['B'] + (c.secrets as Record<string, string>).C);
  });
  job('b', { secrets: ['A'] }, async ({ secrets: s }) => {
    if (s.A) s.D;
  });
  job('c', (ctx) => {
    ctx.log(ctx.secrets.E);
  });
});
