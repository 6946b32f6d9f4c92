import { job } from '@hiveforge/sdk';

const build = () => job('build', async () => {});

export default { name: 'p', build };
