#!/usr/bin/env node
// The installed `ragscope` command: TypeScript runs through tsx, so there is no build step.
require('tsx/cjs');
require('./main.ts').main(process.argv);
