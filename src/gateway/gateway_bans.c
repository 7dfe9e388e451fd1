/*
 * gateway_bans.c — the loop's copy of the ban list (gateway_ban_cache in
 * gateway_internal.h): which configured servers are locked out, answered
 * from memory, so that neither a sign request nor a status route reads the
 * database (or waits for the ban list's lock while a ban is being written)
 * on the event loop. A timer re-reads the list every
 * TKMS_BANLIST_REFRESH_MS on the sessions' worker pool; the result comes
 * back through the sessions' loop queue. A ban this gateway records
 * (gateway_sign.c, on a worker, durably) is learnt at once; a re-read that
 * began before it may not have seen it, so its result is dropped.
 */
#include "gateway_internal.h"

#include <stdlib.h>
#include <string.h>

#include "tkms/log.h"

/* One re-read: its result for every configured server. */
typedef struct {
    struct tkms_gateway *g;
    uint64_t learnt;            /* g->ban_cache.learnt when it began        */
    tkms_status status;
    loop_queue_item back;
    bool banned[];              /* [cfg->server_count]                      */
} ban_read;

/* Reads the ban list from the database, then every configured server's
 * state from the fresh copy. Any thread (the handle is thread-safe). */
static tkms_status read_bans(struct tkms_gateway *g, bool *banned, tkms_err *err)
{
    tkms_status status = tkms_banlist_refresh(g->bans, err);
    for (size_t s = 0; status == TKMS_OK && s < g->cfg->server_count; s++) {
        bool b = false;
        status = tkms_banlist_is_banned(g->bans, g->servers[s].name, NULL, &b, err);
        banned[s] = b;
    }
    return status;
}

/* Loop: the re-read is back. */
static void read_back(void *arg)
{
    ban_read *r = arg;
    gateway_ban_cache *c = &r->g->ban_cache;
    c->reading = false;
    /* A failed read keeps the copy (as the ban list keeps its own); one
     * that began before a ban of ours may not have seen it. */
    if (r->status == TKMS_OK && r->learnt == c->learnt && c->banned != NULL)
        memcpy(c->banned, r->banned, r->g->cfg->server_count * sizeof *c->banned);
    free(r);
}

/* Worker: one re-read. */
static void read_job(void *arg)
{
    ban_read *r = arg;
    tkms_err e;
    r->status = read_bans(r->g, r->banned, &e);
    loop_queue_post(r->g->sessions.loop, &r->back, read_back, r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tkms_gateway *g = arg;
    gateway_ban_cache *c = &g->ban_cache;
    if (c->reading || g->stopping || g->sessions.pool == NULL)
        return;
    ban_read *r = calloc(1, sizeof *r + g->cfg->server_count * sizeof(bool));
    if (r == NULL)
        return;                     /* the next tick tries again */
    r->g = g;
    r->learnt = c->learnt;
    if (tkms_workpool_submit(g->sessions.pool, read_job, r) != TKMS_OK) {
        free(r);
        return;
    }
    c->reading = true;
}

tkms_status gateway_bans_open(struct tkms_gateway *g, tkms_err *err)
{
    gateway_ban_cache *c = &g->ban_cache;
    c->banned = calloc(g->cfg->server_count ? g->cfg->server_count : 1, sizeof *c->banned);
    if (c->banned == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    tkms_err e;
    if (read_bans(g, c->banned, &e) != TKMS_OK)
        tkms_log(TKMS_LOG_WARN, "cannot read the ban list", "reason=%s", e.message);
    c->timer = event_new(g->base, -1, EV_PERSIST, on_timer, g);
    struct timeval every = {TKMS_BANLIST_REFRESH_MS / 1000,
                            (TKMS_BANLIST_REFRESH_MS % 1000) * 1000};
    if (c->timer == NULL || event_add(c->timer, &every) != 0)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot set up the ban list's timer");
    return TKMS_OK;
}

void gateway_bans_close(struct tkms_gateway *g)
{
    gateway_ban_cache *c = &g->ban_cache;
    if (c->timer != NULL)
        event_free(c->timer);
    c->timer = NULL;
    free(c->banned);
    c->banned = NULL;
}

bool gateway_banned(const struct tkms_gateway *g, size_t server)
{
    return g->ban_cache.banned != NULL && server < g->cfg->server_count &&
           g->ban_cache.banned[server];
}

bool gateway_banned_name(const struct tkms_gateway *g, const char *name)
{
    for (size_t s = 0; name != NULL && s < g->cfg->server_count; s++)
        if (strcmp(g->servers[s].name, name) == 0)
            return gateway_banned(g, s);
    return false;
}

void gateway_bans_learn(struct tkms_gateway *g, size_t server)
{
    gateway_ban_cache *c = &g->ban_cache;
    c->learnt++;
    if (c->banned != NULL && server < g->cfg->server_count)
        c->banned[server] = true;
}
