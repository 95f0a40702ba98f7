/* Where the variables every process touches live, libpq or not. */
#ifndef POOLWATCH_ALWAYS_TOUCHED_H
#define POOLWATCH_ALWAYS_TOUCHED_H

/* Every process that inherits the preload runs the constructors and the
 * at-exit handler, and the first touch of each page costs it a page fault.
 * A zero-initialized variable goes to .bss, which spans some 50 pages; in
 * .data it shares the one page the loader has already written (it zeroes
 * the start of .bss there), and the touch is free. Only for what the
 * constructors write and what exit() and exec read before they find that
 * libpq was never used: the rest stays in .bss, untouched until used. */
#define PW__ALWAYS_TOUCHED __attribute__((section(".data")))

/* The same for code: a function the constructors call, marked cold, goes
 * to .text.unlikely, beside the constructors' own .text.startup at the
 * head of .text, where the fault that maps them maps it too. */
#define PW__RUN_AT_LOAD __attribute__((cold))

#endif
