/* A CPU model that runs cases: Unicorn (the reference) or tpvm. */
#ifndef TPVM_TESTS_DIFF_MODEL_H
#define TPVM_TESTS_DIFF_MODEL_H

#include <stdint.h>

#include "tests/diff/case.h"

struct model {
    const char *name;
    uint8_t *ram; /* the model's guest RAM, RAM_SIZE bytes */
    void *impl;
    void (*run)(void *impl, const struct dcase *c, struct outcome *out);
};

/* Load the case into the model's RAM and run it. */
static inline void model_run(const struct model *m, const struct dcase *c,
                             struct outcome *out)
{
    case_load_memory(c, m->ram);
    m->run(m->impl, c, out);
}

#endif
