/* Limits shared by the configuration table and the code that obeys it. */
#ifndef POOLWATCH_LIMITS_H
#define POOLWATCH_LIMITS_H

/* The deepest stack POOLWATCH_STACK_DEPTH may ask for: stacks are captured
 * into arrays of this size on the hot path, so it stays on the stack. */
#define PW__MAX_STACK_DEPTH 128

#endif
