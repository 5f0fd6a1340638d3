/** drain.test.ts on the tc-BPF fast path (see engine.ts). */
process.env.OPENSLB_TEST_GWLB_ENGINE = 'bpf';
await import('./drain.test.js');
