#ifndef LEAK_SITES_H
#define LEAK_SITES_H

/* LEAK_SITES comes from CMakeLists.txt, which generates that many sites. */
#define LEAKS_PER_SITE 100

/* Leaks LEAKS_PER_SITE checkouts; called from each site. */
void leak_checkouts(void);

/* Generated: LEAK_SITES functions, each a distinct call site. */
extern void (*const leak_sites[LEAK_SITES])(void);

#endif
