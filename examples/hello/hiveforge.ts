import { job, pipeline } from '@hiveforge/sdk';

// A diamond: `prepare` fans out to `left` and `right`, which fan back in to `report`.
export default pipeline('hello', { on: { push: { branches: ['main'] }, manual: true } }, () => {
  const prepare = job('prepare', async (ctx) => {
    await ctx.sh`echo preparing on ${ctx.trigger.branch ?? 'a detached checkout'}`;
    ctx.outputs.set('greeting', 'hello');
  });

  const left = job('left', { needs: [prepare] }, async (ctx) => {
    const greeting = ctx.outputs.get(prepare, 'greeting');
    await ctx.sh`echo ${`${greeting} from the left`} > left.txt`;
    await ctx.sh`cat left.txt`;
    await ctx.upload('left.txt');
  });

  const right = job('right', { needs: [prepare], env: { SIDE: 'right' } }, async (ctx) => {
    const greeting = ctx.outputs.get(prepare, 'greeting');
    // The plain-string form runs as written, so the shell expands $GREETING and $SIDE.
    await ctx.sh('echo "$GREETING from the $SIDE" > right.txt && cat right.txt', { env: { GREETING: greeting ?? '' } });
    await ctx.upload('right.txt');
  });

  job('report', { needs: [left, right] }, async (ctx) => {
    await ctx.download('left.txt');
    await ctx.download('right.txt');
    await ctx.sh`cat left.txt right.txt`;
    ctx.log('both sides reported');
  });
});
