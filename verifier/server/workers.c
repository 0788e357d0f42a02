/*
 * The worker pool: threads that run `handle` (appraisals: crypto never runs on the network
 * thread), a FIFO of requests waiting for them, and the done queue that hands answered
 * requests back to the loop. The waiting queue needs no bound of its own: a request enters it
 * only while holding one of the queue_max in-flight slots (request.c). Hand-back: a worker
 * appends to the done list under a mutex and writes the eventfd; the loop's read event takes
 * the whole list and answers (or frees orphaned) requests on the network thread. Only a worker
 * that finds the list empty writes the eventfd (one wake-up per batch, not per request).
 *
 * Deferred answers (vd_server_defer): `handle` returned but the answer waits on another thread
 * (the audit commit). The request then has two references, the worker's and the completer's;
 * whichever lets go last puts it on the done list, so the answer never leaves before both are
 * finished with it, whatever the order. The pool counts deferred requests not yet handed back,
 * and vd_srv__pool_free waits for them (the audit log reports every record within its commit
 * timeout).
 *
 * Workers run under SCHED_BATCH: their work is CPU-bound (signature checks), and the policy
 * keeps a worker that becomes runnable from preempting the threads whose latency an answer
 * waits on (the network thread, the audit writer), while the workers keep their full share of
 * the CPU. Any process may choose it for its own threads; where that is refused, workers run
 * under the default policy.
 */
/* glibc's feature macro, for SCHED_BATCH: */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server_internal.h"

struct vd_srv_pool {
    vd_server_t *srv;
    pthread_t *threads;
    unsigned n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t started_cv; /* a worker is running: the pool waits for all before serving */
    vd_srv_req_t *head, *tail;
    int stop;
    pthread_mutex_t done_mu;
    pthread_cond_t deferred_cv; /* vd_srv__pool_free: the last deferred request came back */
    vd_srv_req_t *done_head, *done_tail;
    unsigned deferred; /* deferred and not on the done list yet (done_mu) */
    int efd;
    struct event *ev;
    atomic_uint running;
};

/* Any thread: `r` is answered; the loop takes it from the done list. */
static void done_push(vd_srv_pool_t *p, vd_srv_req_t *r)
{
    pthread_mutex_lock(&p->done_mu);
    int first = p->done_tail == NULL;
    if (!first) {
        p->done_tail->qnext = r;
    } else {
        p->done_head = r;
    }
    p->done_tail = r;
    /* Only the first of a list wakes the loop: whoever made it non-empty wrote the eventfd,
     * and the loop takes the whole list after reading it. Written under the lock: once the
     * last deferred request is back, vd_srv__pool_free may close the eventfd and free `p`. */
    uint64_t one = 1;
    while (first && write(p->efd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
    if (r->deferred && --p->deferred == 0) {
        pthread_cond_signal(&p->deferred_cv);
    }
    pthread_mutex_unlock(&p->done_mu);
}

/* The worker's or the completer's reference to a request on a worker goes. */
static void req_release(vd_srv_pool_t *p, vd_srv_req_t *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        done_push(p, r);
    }
}

vd_http_deferred_t *vd_server_defer(vd_http_response_t *resp)
{
    vd_srv_req_t *r = (vd_srv_req_t *)(void *)((char *)resp - offsetof(vd_srv_req_t, resp));
    if (r->state != VD_REQ_WORKER || r->deferred) {
        return NULL; /* inline on the network thread, or deferred already */
    }
    vd_srv_pool_t *p = r->srv->pool;
    pthread_mutex_lock(&p->done_mu);
    p->deferred++;
    pthread_mutex_unlock(&p->done_mu);
    r->deferred = 1;
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    return (vd_http_deferred_t *)r;
}

void vd_server_complete(vd_http_deferred_t *d)
{
    vd_srv_req_t *r = (vd_srv_req_t *)d;
    req_release(r->srv->pool, r);
}

static void *worker_main(void *arg)
{
    vd_srv_pool_t *p = arg;
    vd_server_t *s = p->srv;
    struct sched_param batch = {.sched_priority = 0};
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch); /* the header comment */
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->running, 1);
    pthread_cond_signal(&p->started_cv);
    pthread_mutex_unlock(&p->mu);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->head == NULL && !p->stop) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        vd_srv_req_t *r = p->head;
        p->head = r->qnext;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        r->qnext = NULL;
        pthread_mutex_unlock(&p->mu);
        atomic_fetch_sub_explicit(&s->st_queue_depth, 1, memory_order_relaxed);

        atomic_store_explicit(&r->refs, 1, memory_order_relaxed);
        s->h.handle(s->h.ud, &r->view, &r->resp);
        req_release(p, r);
    }
    atomic_fetch_sub(&p->running, 1);
    return NULL;
}

/* Network thread: answers come back. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    vd_srv_pool_t *p = arg;
    uint64_t v;
    (void)what;
    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&p->done_mu);
    vd_srv_req_t *r = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->done_mu);
    while (r != NULL) {
        vd_srv_req_t *next = r->qnext;
        r->qnext = NULL;
        if (r->holds_slot) {
            r->holds_slot = 0;
            p->srv->slots_used--;
            atomic_fetch_sub_explicit(&p->srv->st_in_flight, 1, memory_order_relaxed);
        }
        r->state = VD_REQ_ANSWERED;
        if (r->conn == NULL) {
            /* The client went away (stream reset or connection closed): log and drop. */
            vd_srv__access_log(p->srv, r, 499, 0, "client closed request");
            vd_srv__req_free(r);
        } else {
            vd_srv_conn_t *c = r->conn;
            vd_srv__conn_enter(c);
            vd_srv__respond(r);
            vd_srv__conn_leave(c);
        }
        r = next;
    }
}

vd_err_t vd_srv__pool_new(vd_server_t *s, unsigned n, vd_srv_pool_t **out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    vd_srv_pool_t *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (p == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "worker pool");
    }
    p->srv = s;
    p->efd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->started_cv, NULL);
    pthread_mutex_init(&p->done_mu, NULL);
    pthread_cond_init(&p->deferred_cv, NULL);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        rc = VD_ERR(err, VD_E_IO, "eventfd: %s", vd_strerror(errno));
        goto out;
    }
    p->ev = event_new(s->base, p->efd, EV_READ | EV_PERSIST, done_cb, p);
    if (p->ev == NULL || event_add(p->ev, NULL) != 0) {
        rc = VD_ERR(err, VD_E_NOMEM, "worker pool event");
        goto out;
    }
    p->threads = calloc(n, sizeof(*p->threads));
    if (p->threads == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "worker threads");
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        int e = pthread_create(&p->threads[i], NULL, worker_main, p);
        if (e != 0) {
            rc = VD_ERR(err, VD_E_INTERNAL, "pthread_create: %s", vd_strerror(e));
            goto out;
        }
        p->n_threads++;
    }
    /* Ready means every worker runs: wait for them, so that /readyz is true as soon as the
     * server listens (a started thread may not have been scheduled yet). */
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->running) < p->n_threads) {
        pthread_cond_wait(&p->started_cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    *out = p;
    p = NULL;
out:
    vd_srv__pool_free(&p);
    return rc;
}

void vd_srv__pool_push(vd_srv_pool_t *p, vd_srv_req_t *r)
{
    pthread_mutex_lock(&p->mu);
    r->qnext = NULL;
    if (p->tail != NULL) {
        p->tail->qnext = r;
    } else {
        p->head = r;
    }
    p->tail = r;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int vd_srv__pool_ready(vd_srv_pool_t *p)
{
    return p != NULL && p->n_threads > 0 && atomic_load(&p->running) == p->n_threads;
}

/* Stops the threads (each finishes the request it runs), then frees what was never answered:
 * the caller has already closed every connection, so every request left here is orphaned. */
void vd_srv__pool_free(vd_srv_pool_t **pp)
{
    vd_srv_pool_t *p = *pp;
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_threads; i++) {
        pthread_join(p->threads[i], NULL);
    }
    pthread_mutex_lock(&p->done_mu);
    while (p->deferred > 0) {
        pthread_cond_wait(&p->deferred_cv, &p->done_mu);
    }
    pthread_mutex_unlock(&p->done_mu);
    for (int list = 0; list < 2; list++) {
        vd_srv_req_t *r = list == 0 ? p->head : p->done_head;
        while (r != NULL) {
            vd_srv_req_t *next = r->qnext;
            r->state = VD_REQ_ANSWERED;
            vd_srv__req_free(r);
            r = next;
        }
    }
    if (p->ev != NULL) {
        event_free(p->ev);
    }
    if (p->efd >= 0) {
        close(p->efd);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->started_cv);
    pthread_mutex_destroy(&p->done_mu);
    pthread_cond_destroy(&p->deferred_cv);
    free(p->threads);
    free(p);
    *pp = NULL;
}
