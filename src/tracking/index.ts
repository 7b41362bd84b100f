export * from './classify.ts';
export * from './handler.ts';
export * from './recorder.ts';
export * from './rewrite.ts';
export * from './setup.ts';
export * from './token.ts';
