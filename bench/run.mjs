// `npm run bench`: every benchmark, each reported beside a baseline measured in the same run.
import { benchAnalyze, reportAnalyze } from './analyze.mjs';
import { benchDispatch, reportDispatch } from './dispatch.mjs';
import { benchExecutor, reportExecutor } from './executor.mjs';
import { benchHistory, reportHistory } from './history.mjs';
import { benchLogPaging, reportLogPaging } from './log-paging.mjs';
import { benchMasking, reportMasking } from './masking.mjs';
import { benchPipeline, reportPipeline } from './pipeline.mjs';
import { benchScheduling, reportScheduling } from './scheduling.mjs';

const only = process.argv[2];
if (!only || only === 'analyze') console.log(`${reportAnalyze(await benchAnalyze())}\n`);
if (!only || only === 'scheduling') console.log(`${reportScheduling(await benchScheduling())}\n`);
if (!only || only === 'dispatch') console.log(`${reportDispatch(await benchDispatch())}\n`);
if (!only || only === 'history') console.log(`${reportHistory(await benchHistory())}\n`);
if (!only || only === 'log-paging') console.log(`${reportLogPaging(await benchLogPaging())}\n`);
if (!only || only === 'masking') console.log(`${reportMasking(await benchMasking())}\n`);
if (!only || only === 'executor') console.log(`${reportExecutor(await benchExecutor())}\n`);
if (!only || only === 'pipeline') console.log(`${reportPipeline(await benchPipeline())}\n`);
