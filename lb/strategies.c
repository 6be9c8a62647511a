/* The strategies, in one explicit list. A new one is a file of its own and a line here. */
#include <string.h>
#include <strings.h>

#include "lb/lb.h"

static const lb_strategy_t strategies[] = {
    {"GreedyRefine", lb_greedy_refine,
     "greedy maximum, but an object stays on its PE unless moving it lowers the maximum"},
    {"Greedy", lb_greedy, "every object placed anew, heaviest first, on the least busy PE"},
    {"Refine", lb_refine, "only PEs over the average give objects to the least busy ones"},
    {"HostGreedyRefine", lb_host_greedy_refine,
     "GreedyRefine that moves an object inside its host when a PE there has room"},
    {"Rotate", lb_rotate, "every object to the next PE (for tests)"},
    {"Dummy", lb_dummy, "measure and report; nothing moves"},
};

const lb_strategy_t *lb_strategy_at(int i)
{
    if (i < 0 || i >= (int)(sizeof strategies / sizeof strategies[0]))
        return NULL;
    return &strategies[i];
}

const lb_strategy_t *lb_strategy_find(const char *name)
{
    if (!name)
        return NULL;
    size_t len = strlen(name);
    if (len > 2 && strcasecmp(name + len - 2, "LB") == 0)
        len -= 2; /* Charm++'s spelling: GreedyRefineLB */
    for (const lb_strategy_t *s = strategies; s < strategies + sizeof strategies /
                                                              sizeof strategies[0]; s++)
        if (strlen(s->name) == len && strncasecmp(s->name, name, len) == 0)
            return s;
    return NULL;
}
