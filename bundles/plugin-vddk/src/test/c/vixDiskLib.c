/*
 * A stand-in for VMware's libvixDiskLib.so, for testing the vddk plugin without VMware.
 *
 * Same symbols and signatures as the real library (see shared/reference/vddk-api.md). The "disk"
 * is the raw image named by the path given to Open (the plugin's file= parameter); holes in the
 * image are unallocated blocks. Like VDDK it starts background threads in InitEx, and the *Async
 * calls complete from those threads, after small random delays and out of order.
 *
 * It records facts the tests assert, as lines appended to a journal file:
 *   the highest number of async requests in flight on one handle, whether a handle was ever
 *   entered by two threads at once, how many times Open/Close/ConnectEx/Disconnect overlapped,
 *   the async requests still in flight on a handle at each Flush, InitEx/Exit calls, and calls
 *   made while the library was not initialised. The counters start again at each InitEx.
 *
 * Settings, from the VDDK config file given to InitEx (key=value lines) or the environment:
 *   standin.facts      VDDK_STANDIN_FACTS     journal file (none: no journal)
 *   standin.fail       VDDK_STANDIN_FAIL      calls to fail: NAME or NAME@SECTOR, comma separated
 *                                             (NAME@SECTOR fails reads/writes covering that sector)
 *   standin.delay-us   VDDK_STANDIN_DELAY_US  largest random completion delay, microseconds (500)
 *   standin.threads    VDDK_STANDIN_THREADS   completion threads (4)
 *   standin.password   VDDK_STANDIN_PASSWORD  the password ConnectEx accepts for remote connections
 * The environment wins over the config file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t VixError;
#define VIX_OK 0
#define VIX_E_FAIL 1
#define VIX_E_INVALID_ARG 3
#define VIX_E_FILE_NOT_FOUND 4
#define VIX_E_NOT_SUPPORTED 6
#define VIX_E_FILE_ALREADY_EXISTS 12
#define VIX_ASYNC 25000

#define SECTOR 512
#define MIN_CHUNK 128
#define MAX_CHUNK_NUMBER (512 * 1024)
#define FLAG_READ_ONLY 4

typedef void VixDiskLibGenericLogFunc(const char *fmt, va_list args);
typedef void (*VixDiskLibCompletionCB)(void *data, VixError result);

typedef struct { uint32_t cylinders, heads, sectors; } VixDiskLibGeometry;

typedef struct {
    VixDiskLibGeometry biosGeo;
    VixDiskLibGeometry physGeo;
    uint64_t capacity;
    int adapterType;
    int numLinks;
    char *parentFileNameHint;
    char *uuid;
    uint32_t logicalSectorSize;
    uint32_t physicalSectorSize;
} VixDiskLibInfo;

typedef struct {
    char *vmxSpec;
    char *serverName;
    char *thumbPrint;
    long reserved1;
    int credType;
    union {
        struct { char *userName; char *password; } uid;
        struct { char *cookie; char *userName; char *key; } sessionId;
        void *reserved2;
    } creds;
    uint32_t port;
    uint32_t nfcHostPort;
    char *reserved3;
    char reserved4[8];
    void *reserved5;
    union {
        struct { char *id; char *datastoreMoRef; char *ssId; } vStorageObjSpec;
    } spec;
    int specType;
} VixDiskLibConnectParams;

_Static_assert(offsetof(VixDiskLibConnectParams, credType) == 32, "credType");
_Static_assert(offsetof(VixDiskLibConnectParams, creds) == 40, "creds");
_Static_assert(offsetof(VixDiskLibConnectParams, port) == 64, "port");
_Static_assert(offsetof(VixDiskLibConnectParams, spec) == 96, "spec");
_Static_assert(offsetof(VixDiskLibConnectParams, specType) == 120, "specType");
_Static_assert(sizeof(VixDiskLibConnectParams) == 128, "size");
_Static_assert(offsetof(VixDiskLibInfo, capacity) == 24, "capacity");

typedef struct { uint64_t offset; uint64_t length; } VixDiskLibBlock;
typedef struct { uint32_t numBlocks; VixDiskLibBlock blocks[1]; } VixDiskLibBlockList;

typedef struct {
    int diskType;
    int adapterType;
    uint16_t hwVersion;
    uint64_t capacity;
    uint32_t logicalSectorSize;
    uint32_t physicalSectorSize;
} VixDiskLibCreateParams;

struct connection {
    int read_only;
    int remote;
};

struct handle {
    int fd;
    uint64_t capacity;                 /* sectors */
    atomic_int entered;                /* threads inside a call on this handle right now */
    int inflight;                      /* async requests issued, not yet completed (under mu) */
    int max_inflight;
    int two_threads;
    pthread_mutex_t mu;
    pthread_cond_t idle;
};

struct op {
    struct handle *h;
    int write;
    uint64_t sector, count;
    unsigned char *buf;
    VixDiskLibCompletionCB cb;
    void *data;
    int fail;
    struct timespec due;
};

struct failure {
    char name[64];
    int64_t sector;                    /* -1: every call */
};

/* ---- process state (one library per process, as with VDDK) ---------------------------- */

static pthread_mutex_t state_mu = PTHREAD_MUTEX_INITIALIZER;
static int initialized;
static VixDiskLibGenericLogFunc *log_fn, *warn_fn;
static char facts_path[4096];
static struct failure failures[32];
static int n_failures;
static long delay_us = 500;
static int n_threads = 4;
static char expected_password[256];
static int have_expected_password;

static pthread_mutex_t queue_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cv = PTHREAD_COND_INITIALIZER;
static struct op **queue;
static size_t queue_len, queue_cap;
static int stopping;
static pthread_t threads[64];

static atomic_int open_close_active;
static atomic_int open_close_overlap;      /* entries that found another call inside */
static atomic_int any_two_threads;
static atomic_int global_max_inflight;

/* ---- journal and logging -------------------------------------------------------------- */

static void journal(const char *fmt, ...)
{
    if (facts_path[0] == '\0')
        return;
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int) sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    int fd = open(facts_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t ignored = write(fd, line, n);
        (void) ignored;
        close(fd);
    }
}

static void say(VixDiskLibGenericLogFunc *fn, const char *fmt, ...)
{
    if (fn == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fn(fmt, ap);
    va_end(ap);
}

static int not_initialized(const char *call)
{
    if (initialized)
        return 0;
    journal("not-initialized call=%s", call);
    return 1;
}

/* ---- failure injection ---------------------------------------------------------------- */

static void parse_failures(const char *spec)
{
    n_failures = 0;
    char *copy = strdup(spec), *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok && n_failures < 32; tok = strtok_r(NULL, ", ", &save)) {
        struct failure *f = &failures[n_failures++];
        char *at = strchr(tok, '@');
        f->sector = -1;
        if (at) {
            *at = '\0';
            f->sector = strtoll(at + 1, NULL, 0);
        }
        snprintf(f->name, sizeof f->name, "%s", tok);
    }
    free(copy);
}

/* Whether a call named NAME on sectors [sector, sector+count) is to fail. */
static int injected(const char *name, uint64_t sector, uint64_t count)
{
    for (int i = 0; i < n_failures; i++) {
        struct failure *f = &failures[i];
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->sector < 0 || ((uint64_t) f->sector >= sector && (uint64_t) f->sector < sector + count))
            return 1;
    }
    return 0;
}

/* ---- settings ------------------------------------------------------------------------- */

static void apply_setting(const char *key, const char *value)
{
    if (strcmp(key, "standin.facts") == 0)
        snprintf(facts_path, sizeof facts_path, "%s", value);
    else if (strcmp(key, "standin.fail") == 0)
        parse_failures(value);
    else if (strcmp(key, "standin.delay-us") == 0)
        delay_us = atol(value);
    else if (strcmp(key, "standin.threads") == 0)
        n_threads = atoi(value);
    else if (strcmp(key, "standin.password") == 0) {
        snprintf(expected_password, sizeof expected_password, "%s", value);
        have_expected_password = 1;
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '"')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '"'))
        s[--n] = '\0';
    return s;
}

static void read_config(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *eq = strchr(line, '=');
        if (line[0] == '#' || eq == NULL)
            continue;
        *eq = '\0';
        apply_setting(trim(line), trim(eq + 1));
    }
    fclose(f);
}

static void read_environment(void)
{
    static const char *keys[][2] = {
        {"VDDK_STANDIN_FACTS", "standin.facts"}, {"VDDK_STANDIN_FAIL", "standin.fail"},
        {"VDDK_STANDIN_DELAY_US", "standin.delay-us"}, {"VDDK_STANDIN_THREADS", "standin.threads"},
        {"VDDK_STANDIN_PASSWORD", "standin.password"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = getenv(keys[i][0]);
        if (v)
            apply_setting(keys[i][1], v);
    }
}

/* ---- entering handles and the open/close section -------------------------------------- */

static void enter(struct handle *h)
{
    if (atomic_fetch_add(&h->entered, 1) != 0) {
        h->two_threads = 1;
        atomic_store(&any_two_threads, 1);
    }
}

static void leave(struct handle *h)
{
    atomic_fetch_sub(&h->entered, 1);
}

/* Open, Close, ConnectEx and Disconnect must never run at the same time; they take a while. */
static void open_close_enter(void)
{
    if (atomic_fetch_add(&open_close_active, 1) != 0)
        atomic_fetch_add(&open_close_overlap, 1);
    usleep(2000);
}

static void open_close_leave(void)
{
    atomic_fetch_sub(&open_close_active, 1);
}

/* ---- completion threads --------------------------------------------------------------- */

static void add_micros(struct timespec *t, long us)
{
    t->tv_nsec += us * 1000;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

static int do_io(struct op *o)
{
    off_t pos = (off_t) (o->sector * SECTOR);
    size_t left = o->count * SECTOR;
    unsigned char *p = o->buf;
    while (left > 0) {
        ssize_t n = o->write ? pwrite(o->h->fd, p, left, pos) : pread(o->h->fd, p, left, pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {                   /* reading past the end of a short file: zeros */
            memset(p, 0, left);
            break;
        }
        p += n;
        pos += n;
        left -= (size_t) n;
    }
    return 0;
}

static void *completion_thread(void *arg)
{
    unsigned seed = (unsigned) (uintptr_t) arg * 2654435761u ^ (unsigned) time(NULL);
    for (;;) {
        pthread_mutex_lock(&queue_mu);
        while (queue_len == 0 && !stopping)
            pthread_cond_wait(&queue_cv, &queue_mu);
        if (queue_len == 0) {
            pthread_mutex_unlock(&queue_mu);
            return NULL;
        }
        size_t i = (size_t) rand_r(&seed) % queue_len;       /* any queued request: out of order */
        struct op *o = queue[i];
        queue[i] = queue[--queue_len];
        pthread_mutex_unlock(&queue_mu);

        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &o->due, NULL);
        VixError result = VIX_OK;
        if (o->fail) {
            say(warn_fn, "VixDiskLib: injected failure of %s at sector %llu\n",
                o->write ? "WriteAsync" : "ReadAsync", (unsigned long long) o->sector);
            result = VIX_E_FAIL;
        } else if (do_io(o) != 0) {
            result = VIX_E_FAIL;
        }
        struct handle *h = o->h;
        o->cb(o->data, result);
        free(o);
        pthread_mutex_lock(&h->mu);
        if (--h->inflight == 0)
            pthread_cond_broadcast(&h->idle);
        pthread_mutex_unlock(&h->mu);
    }
}

static VixError queue_async(struct handle *h, int write, uint64_t sector, uint64_t count,
                            unsigned char *buf, VixDiskLibCompletionCB cb, void *data)
{
    if (sector + count > h->capacity || cb == NULL)
        return VIX_E_INVALID_ARG;
    struct op *o = calloc(1, sizeof *o);
    if (o == NULL)
        return VIX_E_FAIL;
    o->h = h;
    o->write = write;
    o->sector = sector;
    o->count = count;
    o->buf = buf;
    o->cb = cb;
    o->data = data;
    o->fail = injected(write ? "WriteAsync" : "ReadAsync", sector, count);
    clock_gettime(CLOCK_MONOTONIC, &o->due);
    if (delay_us > 0)
        add_micros(&o->due, (long) (((unsigned) rand() ^ (unsigned) (uintptr_t) o) % (unsigned long) delay_us));

    pthread_mutex_lock(&h->mu);
    int now = ++h->inflight;
    if (now > h->max_inflight)
        h->max_inflight = now;
    pthread_mutex_unlock(&h->mu);
    int seen = atomic_load(&global_max_inflight);
    while (now > seen && !atomic_compare_exchange_weak(&global_max_inflight, &seen, now))
        ;

    pthread_mutex_lock(&queue_mu);
    if (queue_len == queue_cap) {
        queue_cap = queue_cap ? queue_cap * 2 : 256;
        queue = realloc(queue, queue_cap * sizeof *queue);
    }
    queue[queue_len++] = o;
    pthread_cond_signal(&queue_cv);
    pthread_mutex_unlock(&queue_mu);
    return VIX_ASYNC;
}

/* ---- the API -------------------------------------------------------------------------- */

EXPORT VixError VixDiskLib_InitEx(uint32_t major, uint32_t minor, VixDiskLibGenericLogFunc *log,
                                  VixDiskLibGenericLogFunc *warn, VixDiskLibGenericLogFunc *panic,
                                  const char *libDir, const char *configFile)
{
    (void) panic;
    pthread_mutex_lock(&state_mu);
    if (initialized) {
        journal("InitEx again while initialised");
        pthread_mutex_unlock(&state_mu);
        return VIX_E_FAIL;
    }
    facts_path[0] = '\0';
    n_failures = 0;
    delay_us = 500;
    n_threads = 4;
    have_expected_password = 0;
    read_config(configFile);
    read_environment();
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > 64)
        n_threads = 64;
    log_fn = log;
    warn_fn = warn;
    if (injected("InitEx", 0, 1)) {
        journal("InitEx failed (injected)");
        pthread_mutex_unlock(&state_mu);
        return VIX_E_FAIL;
    }
    stopping = 0;
    atomic_store(&open_close_overlap, 0);
    atomic_store(&any_two_threads, 0);
    atomic_store(&global_max_inflight, 0);
    for (int i = 0; i < n_threads; i++)
        pthread_create(&threads[i], NULL, completion_thread, (void *) (uintptr_t) (i + 1));
    initialized = 1;
    journal("InitEx version=%u.%u libdir=%s config=%s threads=%d delay-us=%ld", major, minor,
            libDir ? libDir : "(null)", configFile ? configFile : "(null)", n_threads, delay_us);
    say(log_fn, "VixDiskLib: stand-in initialised (%d completion threads)\n", n_threads);
    pthread_mutex_unlock(&state_mu);
    return VIX_OK;
}

EXPORT void VixDiskLib_Exit(void)
{
    pthread_mutex_lock(&state_mu);
    if (!initialized) {
        journal("Exit while not initialised");
        pthread_mutex_unlock(&state_mu);
        return;
    }
    pthread_mutex_lock(&queue_mu);
    stopping = 1;
    pthread_cond_broadcast(&queue_cv);
    pthread_mutex_unlock(&queue_mu);
    for (int i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    initialized = 0;
    journal("Exit max-inflight=%d two-threads=%d open-close-overlap=%d", atomic_load(&global_max_inflight),
            atomic_load(&any_two_threads), atomic_load(&open_close_overlap));
    log_fn = warn_fn = NULL;
    pthread_mutex_unlock(&state_mu);
}

EXPORT char *VixDiskLib_GetErrorText(VixError err, const char *locale)
{
    (void) locale;
    const char *text;
    switch (err) {
    case VIX_OK: text = "The operation was successful"; break;
    case VIX_E_FAIL: text = "Unknown error"; break;
    case VIX_E_INVALID_ARG: text = "One of the parameters was invalid"; break;
    case VIX_E_FILE_NOT_FOUND: text = "The file was not found"; break;
    case VIX_E_NOT_SUPPORTED: text = "The operation is not supported"; break;
    case VIX_E_FILE_ALREADY_EXISTS: text = "The file already exists"; break;
    default: text = "Unknown error code"; break;
    }
    return strdup(text);
}

EXPORT void VixDiskLib_FreeErrorText(char *text)
{
    free(text);
}

EXPORT VixDiskLibConnectParams *VixDiskLib_AllocateConnectParams(void)
{
    return calloc(1, sizeof(VixDiskLibConnectParams));
}

EXPORT void VixDiskLib_FreeConnectParams(VixDiskLibConnectParams *params)
{
    free(params);                       /* the strings belong to the caller */
}

static const char *or_none(const char *s)
{
    return s ? s : "-";
}

EXPORT VixError VixDiskLib_ConnectEx(const VixDiskLibConnectParams *p, char readOnly, const char *snapshotRef,
                                     const char *transportModes, struct connection **out)
{
    if (not_initialized("ConnectEx"))
        return VIX_E_FAIL;
    open_close_enter();
    VixError err = VIX_OK;
    int remote = p != NULL && p->serverName != NULL;
    if (remote) {
        const char *user = p->credType == 2 ? p->creds.sessionId.userName : p->creds.uid.userName;
        const char *pw = "none";
        if (p->credType == 1 && p->creds.uid.password != NULL)
            pw = !have_expected_password || strcmp(p->creds.uid.password, expected_password) == 0 ? "ok" : "wrong";
        journal("ConnectEx remote server=%s thumbprint=%s vmxSpec=%s credType=%d user=%s password=%s cookie=%s "
                "port=%u nfcHostPort=%u readOnly=%d snapshot=%s transports=%s",
                or_none(p->serverName), or_none(p->thumbPrint), or_none(p->vmxSpec), p->credType, or_none(user), pw,
                p->credType == 2 && p->creds.sessionId.cookie ? p->creds.sessionId.cookie : "-",
                p->port, p->nfcHostPort, readOnly, or_none(snapshotRef), or_none(transportModes));
        if (strcmp(pw, "wrong") == 0) {
            say(warn_fn, "VixDiskLib: Cannot connect to host %s: incorrect user name or password\n", p->serverName);
            err = VIX_E_FAIL;
        }
    } else {
        journal("ConnectEx local readOnly=%d", readOnly);
    }
    if (err == VIX_OK && injected("ConnectEx", 0, 1))
        err = VIX_E_FAIL;
    if (err == VIX_OK) {
        struct connection *c = calloc(1, sizeof *c);
        c->read_only = readOnly != 0;
        c->remote = remote;
        *out = c;
    }
    open_close_leave();
    return err;
}

EXPORT VixError VixDiskLib_Disconnect(struct connection *c)
{
    if (not_initialized("Disconnect"))
        return VIX_E_FAIL;
    open_close_enter();
    free(c);
    open_close_leave();
    return VIX_OK;
}

EXPORT VixError VixDiskLib_Create(struct connection *c, const char *path, const VixDiskLibCreateParams *p,
                                  void *progress, void *progressData)
{
    (void) progress;
    (void) progressData;
    if (not_initialized("Create"))
        return VIX_E_FAIL;
    if (c == NULL || c->remote || p == NULL || path == NULL)
        return VIX_E_NOT_SUPPORTED;
    if (injected("Create", 0, 1))
        return VIX_E_FAIL;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? VIX_E_FILE_ALREADY_EXISTS : VIX_E_FILE_NOT_FOUND;
    int r = ftruncate(fd, (off_t) (p->capacity * SECTOR));
    close(fd);
    journal("Create path=%s diskType=%d adapterType=%d hwVersion=%u capacity=%llu", path, p->diskType,
            p->adapterType, p->hwVersion, (unsigned long long) p->capacity);
    return r == 0 ? VIX_OK : VIX_E_FAIL;
}

EXPORT VixError VixDiskLib_Open(struct connection *c, const char *path, uint32_t flags, struct handle **out)
{
    if (not_initialized("Open"))
        return VIX_E_FAIL;
    open_close_enter();
    VixError err = VIX_OK;
    say(log_fn, "VixDiskLib: Opening %s with flags %u\n", path, flags);
    int ro = (flags & FLAG_READ_ONLY) || c->read_only;
    int fd = injected("Open", 0, 1) ? -1 : open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        err = errno == ENOENT ? VIX_E_FILE_NOT_FOUND : VIX_E_FAIL;
        say(warn_fn, "VixDiskLib: cannot open %s\n", path);
    } else {
        struct stat st;
        fstat(fd, &st);
        struct handle *h = calloc(1, sizeof *h);
        h->fd = fd;
        h->capacity = (uint64_t) st.st_size / SECTOR;
        pthread_mutex_init(&h->mu, NULL);
        pthread_cond_init(&h->idle, NULL);
        *out = h;
        journal("Open path=%s flags=%u", path, flags);
    }
    open_close_leave();
    return err;
}

EXPORT const char *VixDiskLib_GetTransportMode(struct handle *h)
{
    (void) h;
    return "file";
}

EXPORT VixError VixDiskLib_Close(struct handle *h)
{
    if (not_initialized("Close"))
        return VIX_E_FAIL;
    open_close_enter();
    pthread_mutex_lock(&h->mu);
    int pending = h->inflight;
    pthread_mutex_unlock(&h->mu);
    journal("Close max-inflight=%d two-threads=%d pending=%d open-close-overlap=%d", h->max_inflight,
            h->two_threads, pending, atomic_load(&open_close_overlap));
    close(h->fd);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->idle);
    free(h);
    open_close_leave();
    return VIX_OK;
}

EXPORT VixError VixDiskLib_GetInfo(struct handle *h, VixDiskLibInfo **out)
{
    if (not_initialized("GetInfo"))
        return VIX_E_FAIL;
    enter(h);
    VixError err = VIX_E_FAIL;
    if (!injected("GetInfo", 0, 1)) {
        VixDiskLibInfo *info = calloc(1, sizeof *info);
        info->capacity = h->capacity;
        info->adapterType = 2;
        info->numLinks = 1;
        info->logicalSectorSize = SECTOR;
        info->physicalSectorSize = SECTOR;
        *out = info;
        err = VIX_OK;
    }
    leave(h);
    return err;
}

EXPORT void VixDiskLib_FreeInfo(VixDiskLibInfo *info)
{
    free(info);
}

static VixError sync_io(const char *name, struct handle *h, int write, uint64_t sector, uint64_t count,
                        unsigned char *buf)
{
    if (not_initialized(name))
        return VIX_E_FAIL;
    enter(h);
    VixError err;
    if (sector + count > h->capacity)
        err = VIX_E_INVALID_ARG;
    else if (injected(name, sector, count))
        err = VIX_E_FAIL;
    else {
        struct op o = {.h = h, .write = write, .sector = sector, .count = count, .buf = buf};
        err = do_io(&o) == 0 ? VIX_OK : VIX_E_FAIL;
    }
    leave(h);
    return err;
}

EXPORT VixError VixDiskLib_Read(struct handle *h, uint64_t sector, uint64_t count, unsigned char *buf)
{
    return sync_io("Read", h, 0, sector, count, buf);
}

EXPORT VixError VixDiskLib_Write(struct handle *h, uint64_t sector, uint64_t count, const unsigned char *buf)
{
    return sync_io("Write", h, 1, sector, count, (unsigned char *) buf);
}

EXPORT VixError VixDiskLib_ReadAsync(struct handle *h, uint64_t sector, uint64_t count, unsigned char *buf,
                                     VixDiskLibCompletionCB cb, void *data)
{
    if (not_initialized("ReadAsync"))
        return VIX_E_FAIL;
    enter(h);
    VixError err = queue_async(h, 0, sector, count, buf, cb, data);
    leave(h);
    return err;
}

EXPORT VixError VixDiskLib_WriteAsync(struct handle *h, uint64_t sector, uint64_t count, const unsigned char *buf,
                                      VixDiskLibCompletionCB cb, void *data)
{
    if (not_initialized("WriteAsync"))
        return VIX_E_FAIL;
    enter(h);
    VixError err = queue_async(h, 1, sector, count, (unsigned char *) buf, cb, data);
    leave(h);
    return err;
}

EXPORT VixError VixDiskLib_Wait(struct handle *h)
{
    if (not_initialized("Wait"))
        return VIX_E_FAIL;
    enter(h);
    pthread_mutex_lock(&h->mu);
    while (h->inflight > 0)
        pthread_cond_wait(&h->idle, &h->mu);
    pthread_mutex_unlock(&h->mu);
    leave(h);
    return VIX_OK;
}

EXPORT VixError VixDiskLib_Flush(struct handle *h)
{
    if (not_initialized("Flush"))
        return VIX_E_FAIL;
    enter(h);
    pthread_mutex_lock(&h->mu);
    int pending = h->inflight;          /* VDDK flushes only what has completed: callers Wait first */
    pthread_mutex_unlock(&h->mu);
    journal("Flush pending=%d", pending);
    VixError err = VIX_OK;
    if (injected("Flush", 0, 1)) {
        say(warn_fn, "VixDiskLib: injected failure of Flush\n");
        err = VIX_E_FAIL;
    } else if (fdatasync(h->fd) != 0) {
        err = VIX_E_FAIL;
    }
    leave(h);
    return err;
}

EXPORT VixError VixDiskLib_QueryAllocatedBlocks(struct handle *h, uint64_t start, uint64_t count, uint64_t chunk,
                                                VixDiskLibBlockList **out)
{
    if (not_initialized("QueryAllocatedBlocks"))
        return VIX_E_FAIL;
    enter(h);
    VixError err = VIX_OK;
    if (injected("QueryAllocatedBlocks", start, count)) {
        say(warn_fn, "VixDiskLib: QueryAllocatedBlocks is not supported by this server\n");
        err = VIX_E_NOT_SUPPORTED;
    } else if (chunk < MIN_CHUNK || start % chunk != 0 || count % chunk != 0 || count / chunk > MAX_CHUNK_NUMBER
               || start + count > h->capacity) {
        say(warn_fn, "VixDiskLib: QueryAllocatedBlocks: invalid range %llu+%llu chunk %llu (capacity %llu)\n",
            (unsigned long long) start, (unsigned long long) count, (unsigned long long) chunk,
            (unsigned long long) h->capacity);
        err = VIX_E_INVALID_ARG;
    } else {
        size_t cap = 16, n = 0;
        VixDiskLibBlockList *list = malloc(sizeof(VixDiskLibBlockList) + cap * sizeof(VixDiskLibBlock));
        off_t end = (off_t) ((start + count) * SECTOR), pos = (off_t) (start * SECTOR);
        while (pos < end) {
            off_t data = lseek(h->fd, pos, SEEK_DATA);
            if (data < 0 || data >= end)
                break;
            off_t hole = lseek(h->fd, data, SEEK_HOLE);
            if (hole < 0 || hole > end)
                hole = end;
            uint64_t first = (uint64_t) data / SECTOR / chunk * chunk;
            uint64_t last = ((uint64_t) hole / SECTOR + chunk - 1) / chunk * chunk;
            if (last > start + count)
                last = start + count;
            if (n > 0 && list->blocks[n - 1].offset + list->blocks[n - 1].length >= first) {
                list->blocks[n - 1].length = last - list->blocks[n - 1].offset;
            } else {
                if (n == cap) {
                    cap *= 2;
                    list = realloc(list, sizeof(VixDiskLibBlockList) + cap * sizeof(VixDiskLibBlock));
                }
                list->blocks[n].offset = first;
                list->blocks[n].length = last - first;
                n++;
            }
            pos = (off_t) (last * SECTOR);
        }
        list->numBlocks = (uint32_t) n;
        *out = list;
    }
    leave(h);
    return err;
}

EXPORT VixError VixDiskLib_FreeBlockList(VixDiskLibBlockList *list)
{
    free(list);
    return VIX_OK;
}
