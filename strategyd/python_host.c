/* python_host.c -- see python_host.h. The module `strategy_engine` (Tick,
 * Signal, buy/sell/cancel, new_order_id, now_ns, log) and the ABI callbacks
 * that call into a script's strategy object. */
#define PY_SSIZE_T_CLEAN
#include <Python.h> /* first: it sets feature macros */
#include <structmember.h>

#include "strategyd/python_host.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"

#define MODULE_NAME "strategy_engine"
#define SYMBOL_CACHE 64
#define LOG_BURST 5          /* error lines logged at once before rate limiting */
#define LOG_EVERY_NS 1000000000LL /* then one a second */
#define MSG_MAX 3072         /* fits a log line with its JSON framing */

/* ---------------------------------------------------------------- scripts */

typedef struct {
    bool used;
    char instance[48];
    char path[256];
    char modname[64];
    PyObject *module;
    PyObject *cls;
    const cfg_t *cfg;
    char group[160];
} script_t;

static script_t scripts[PYHOST_MAX_SCRIPTS];

/* One strategy object and what calling it needs, kept from create to
 * destroy. */
typedef struct {
    const strat_host_t *host;
    script_t *script;
    PyObject *obj;
    /* Bound methods, looked up once; NULL for an absent optional one. */
    PyObject *m_init, *m_tick, *m_fill, *m_position, *m_update, *m_start, *m_stop, *m_metrics;
    PyObject *tick;          /* the Tick handed to on_market_data, reused while nobody keeps it */
    struct {
        char key[STRAT_SYMBOL_MAX];
        PyObject *str;
    } syms[SYMBOL_CACHE];
    int nsyms;
    bool running;
    int log_tokens;          /* error lines that may be logged now */
    int64_t log_refill_ns;   /* when the next token comes */
    uint64_t suppressed;     /* error lines not logged since the last one */
    char metric_names[PYHOST_MAX_METRICS][PYHOST_METRIC_NAME_MAX];
} pystrat_t;

/* The strategy whose callback is running: module functions (new_order_id,
 * now_ns, log, and buy/sell assigning ids) act for it. strategyd calls
 * strategies from one thread. */
static pystrat_t *current;

/* ---------------------------------------------------------------- logging */

static void host_log(const strat_host_t *h, int level, const char *msg)
{
    if (h && h->log)
        h->log(h->ctx, level, msg);
}

/* Whether ps may log an error line now: at most LOG_BURST at once, then one
 * a second, so a script failing on every tick cannot flood the log. A line
 * refused is counted, and the next line logged says how many were. */
static bool may_complain(pystrat_t *ps)
{
    int64_t now = clock_mono_ns();
    if (ps->log_tokens < LOG_BURST && now >= ps->log_refill_ns) {
        int64_t periods = (now - ps->log_refill_ns) / LOG_EVERY_NS + 1;
        ps->log_tokens = periods >= LOG_BURST - ps->log_tokens ? LOG_BURST : ps->log_tokens + (int)periods;
        ps->log_refill_ns = now + LOG_EVERY_NS;
    }
    if (ps->log_tokens == 0) {
        ps->suppressed++;
        return false;
    }
    ps->log_tokens--;
    return true;
}

/* Logs an error line for ps once may_complain said yes. */
__attribute__((format(printf, 2, 3)))
static void complain_now(pystrat_t *ps, const char *fmt, ...)
{
    char msg[MSG_MAX];
    int n = 0;
    if (ps->suppressed)
        n = snprintf(msg, sizeof msg, "(%llu similar errors not logged) ", (unsigned long long)ps->suppressed);
    ps->suppressed = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    host_log(ps->host, STRAT_LOG_ERROR, msg);
}

#define complain(ps, ...)                                                                            \
    do {                                                                                             \
        if (may_complain(ps))                                                                        \
            complain_now((ps), __VA_ARGS__);                                                         \
    } while (0)

/* Takes the pending Python exception and writes "Type: message" and, when
 * with_tb, the traceback after it into buf. Clears the exception. */
static void take_exception(char *buf, size_t size, bool with_tb)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    buf[0] = '\0';
    if (!type) {
        snprintf(buf, size, "unknown error");
        return;
    }
    if (tb && value)
        PyException_SetTraceback(value, tb);
    PyObject *s = value ? PyObject_Str(value) : NULL;
    const char *text = s ? PyUnicode_AsUTF8(s) : NULL;
    int n = snprintf(buf, size, "%s%s%s", ((PyTypeObject *)type)->tp_name, text && text[0] ? ": " : "",
                     text ? text : "");
    PyErr_Clear();
    Py_XDECREF(s);
    if (with_tb && tb && n > 0 && (size_t)n < size) {
        /* The formatted traceback ends with the same "Type: message" line. */
        PyObject *mod = PyImport_ImportModule("traceback");
        PyObject *lines = mod ? PyObject_CallMethod(mod, "format_tb", "O", tb) : NULL;
        PyObject *empty = lines ? PyUnicode_FromString("") : NULL;
        PyObject *joined = empty ? PyUnicode_Join(empty, lines) : NULL;
        const char *t = joined ? PyUnicode_AsUTF8(joined) : NULL;
        if (t) {
            size_t len = strlen(t);
            while (len && t[len - 1] == '\n')
                len--;
            snprintf(buf + n, size - (size_t)n, "\nTraceback (most recent call last):\n%.*s", (int)len, t);
        }
        PyErr_Clear();
        Py_XDECREF(joined);
        Py_XDECREF(empty);
        Py_XDECREF(lines);
        Py_XDECREF(mod);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

/* The exception a callback raised: logged with its traceback (rate limited).
 * Returns the ABI's error value; the host counts it. */
static int raised(pystrat_t *ps, const char *callback)
{
    if (!may_complain(ps)) { /* formatting a traceback is not free: not for nothing */
        PyErr_Clear();
        return -EINVAL;
    }
    char what[MSG_MAX - 128];
    take_exception(what, sizeof what, true);
    complain_now(ps, "python exception in %s: %s", callback, what);
    return -EINVAL;
}

/* ---------------------------------------------------------------- Tick */

typedef struct {
    PyObject_HEAD
    strat_tick_t t;
    PyObject *symbol;
} tick_obj_t;

static void tick_dealloc(PyObject *self)
{
    Py_XDECREF(((tick_obj_t *)self)->symbol);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *tick_symbol(PyObject *self, void *closure)
{
    (void)closure;
    PyObject *s = ((tick_obj_t *)self)->symbol;
    return Py_NewRef(s ? s : Py_None);
}

static PyObject *tick_flag(PyObject *self, void *closure)
{
    return PyBool_FromLong((((tick_obj_t *)self)->t.flags & (uint32_t)(uintptr_t)closure) != 0);
}

static PyObject *tick_as_dict(PyObject *self, PyObject *unused)
{
    (void)unused;
    const tick_obj_t *k = (const tick_obj_t *)self;
    return Py_BuildValue("{s:O,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:L,s:N,s:N}", "symbol",
                         k->symbol ? k->symbol : Py_None, "price", k->t.price, "bid", k->t.bid, "ask",
                         k->t.ask, "bid_size", k->t.bid_size, "ask_size", k->t.ask_size, "last", k->t.last,
                         "volume", k->t.volume, "ts_ns", (long long)k->t.ts_ns, "has_bidask",
                         PyBool_FromLong((k->t.flags & STRAT_TICK_HAS_BIDASK) != 0), "has_last",
                         PyBool_FromLong((k->t.flags & STRAT_TICK_HAS_LAST) != 0));
}

static PyObject *tick_repr(PyObject *self)
{
    const tick_obj_t *k = (const tick_obj_t *)self;
    char buf[256];
    snprintf(buf, sizeof buf, "Tick(symbol=%s, price=%.10g, bid=%.10g, ask=%.10g, last=%.10g, ts_ns=%lld)",
             k->symbol ? PyUnicode_AsUTF8(k->symbol) : "None", k->t.price, k->t.bid, k->t.ask, k->t.last,
             (long long)k->t.ts_ns);
    return PyUnicode_FromString(buf);
}

#define TICK_MEMBER(name, type) { #name, type, offsetof(tick_obj_t, t.name), READONLY, NULL }
static PyMemberDef tick_members[] = {
    TICK_MEMBER(price, T_DOUBLE), TICK_MEMBER(bid, T_DOUBLE), TICK_MEMBER(ask, T_DOUBLE),
    TICK_MEMBER(bid_size, T_DOUBLE), TICK_MEMBER(ask_size, T_DOUBLE), TICK_MEMBER(last, T_DOUBLE),
    TICK_MEMBER(volume, T_DOUBLE), TICK_MEMBER(ts_ns, T_LONGLONG), TICK_MEMBER(flags, T_UINT),
    { 0 },
};

static PyGetSetDef tick_getset[] = {
    { "symbol", tick_symbol, NULL, "the instrument, e.g. \"BTC-USD\"", NULL },
    { "has_bidask", tick_flag, NULL, "bid and ask are set", (void *)(uintptr_t)STRAT_TICK_HAS_BIDASK },
    { "has_last", tick_flag, NULL, "last is set", (void *)(uintptr_t)STRAT_TICK_HAS_LAST },
    { 0 },
};

static PyMethodDef tick_methods[] = {
    { "as_dict", tick_as_dict, METH_NOARGS, "the tick's fields as a new dict" },
    { 0 },
};

static PyTypeObject tick_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = MODULE_NAME ".Tick",
    .tp_doc = "One market-data update (read-only). price is the mid of bid/ask, or last without a quote.",
    .tp_basicsize = sizeof(tick_obj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = tick_dealloc,
    .tp_repr = tick_repr,
    .tp_members = tick_members,
    .tp_getset = tick_getset,
    .tp_methods = tick_methods,
};

/* The symbol as a str, from a small per-strategy cache: ticks of the same
 * few symbols arrive over and over. */
static PyObject *symbol_str(pystrat_t *ps, const char *sym)
{
    char key[STRAT_SYMBOL_MAX];
    size_t len = strnlen(sym, STRAT_SYMBOL_MAX - 1);
    memcpy(key, sym, len);
    key[len] = '\0';
    for (int i = 0; i < ps->nsyms; i++)
        if (strcmp(ps->syms[i].key, key) == 0)
            return Py_NewRef(ps->syms[i].str);
    PyObject *s = PyUnicode_DecodeUTF8(key, (Py_ssize_t)len, "replace");
    if (s && ps->nsyms < SYMBOL_CACHE) {
        memcpy(ps->syms[ps->nsyms].key, key, len + 1);
        ps->syms[ps->nsyms++].str = Py_NewRef(s);
    }
    return s;
}

/* The Tick for this call: the previous one when the script kept no
 * reference to it, else a fresh one (a kept tick never changes under the
 * script's feet). */
static tick_obj_t *tick_for(pystrat_t *ps, const strat_tick_t *t)
{
    tick_obj_t *k = (tick_obj_t *)ps->tick;
    if (!k || Py_REFCNT(k) > 1) {
        Py_XDECREF(ps->tick);
        ps->tick = NULL;
        k = PyObject_New(tick_obj_t, &tick_type);
        if (!k)
            return NULL;
        k->symbol = NULL;
        ps->tick = (PyObject *)k;
    }
    k->t = *t;
    Py_XDECREF(k->symbol);
    k->symbol = t->symbol ? symbol_str(ps, t->symbol) : NULL;
    if (t->symbol && !k->symbol)
        return NULL;
    k->t.symbol = NULL; /* borrowed from the host: never kept */
    return k;
}

/* ---------------------------------------------------------------- Signal */

typedef struct {
    PyObject_HEAD
    strat_signal_t s;
} signal_obj_t;

static int copy_text(char *dst, size_t size, const char *src, const char *what)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= size) {
        PyErr_Format(PyExc_ValueError, "%s '%s' is longer than %zu bytes", what, src, size - 1);
        return -1;
    }
    memcpy(dst, src ? src : "", len + 1);
    return 0;
}

/* A new Signal (a reference) from its fields; NULL with a Python error. */
static PyObject *signal_make(PyTypeObject *type, int action, int side, int otype, double qty, double price,
                             const char *symbol, const char *coid)
{
    signal_obj_t *o = (signal_obj_t *)type->tp_alloc(type, 0);
    if (!o)
        return NULL;
    o->s = (strat_signal_t){ .action = action, .side = side, .type = otype, .qty = qty, .price = price };
    if (copy_text(o->s.symbol, sizeof o->s.symbol, symbol, "symbol") < 0 ||
        copy_text(o->s.client_order_id, sizeof o->s.client_order_id, coid, "client_order_id") < 0) {
        Py_DECREF(o);
        return NULL;
    }
    return (PyObject *)o;
}

static PyObject *signal_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *names[] = { "action", "side", "type", "qty", "price", "symbol", "client_order_id", NULL };
    int action = STRAT_NEW, side = 0, otype = STRAT_MARKET;
    double qty = 0, price = 0;
    const char *symbol = "", *coid = "";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|iiiddss:Signal", names, &action, &side, &otype, &qty, &price,
                                     &symbol, &coid))
        return NULL;
    return signal_make(type, action, side, otype, qty, price, symbol, coid);
}

static PyObject *signal_text(PyObject *self, void *closure)
{
    const signal_obj_t *o = (const signal_obj_t *)self;
    const char *s = closure ? o->s.client_order_id : o->s.symbol;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

static PyObject *signal_repr(PyObject *self)
{
    const strat_signal_t *s = &((signal_obj_t *)self)->s;
    char buf[256];
    snprintf(buf, sizeof buf, "Signal(action=%s, side=%s, type=%s, qty=%.10g, price=%.10g, symbol='%s', "
             "client_order_id='%s')",
             s->action == STRAT_NEW ? "NEW" : s->action == STRAT_CANCEL ? "CANCEL" : "?",
             s->side == STRAT_BUY ? "BUY" : s->side == STRAT_SELL ? "SELL" : "?",
             s->type == STRAT_MARKET ? "MARKET" : s->type == STRAT_LIMIT ? "LIMIT" : "?", s->qty, s->price,
             s->symbol, s->client_order_id);
    return PyUnicode_FromString(buf);
}

#define SIGNAL_MEMBER(name, type) { #name, type, offsetof(signal_obj_t, s.name), READONLY, NULL }
static PyMemberDef signal_members[] = {
    SIGNAL_MEMBER(action, T_INT), SIGNAL_MEMBER(side, T_INT), SIGNAL_MEMBER(type, T_INT),
    SIGNAL_MEMBER(qty, T_DOUBLE), SIGNAL_MEMBER(price, T_DOUBLE),
    { 0 },
};

static PyGetSetDef signal_getset[] = {
    { "symbol", signal_text, NULL, "the instrument; \"\" means the tick's", NULL },
    { "client_order_id", signal_text, NULL, "the order's id (\"\": the host assigns one)", (void *)1 },
    { 0 },
};

static PyTypeObject signal_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = MODULE_NAME ".Signal",
    .tp_doc = "Signal(action=NEW, side=0, type=MARKET, qty=0.0, price=0.0, symbol='', client_order_id='')\n"
              "One order request (read-only). buy(), sell() and cancel() build the usual ones.",
    .tp_basicsize = sizeof(signal_obj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = signal_new,
    .tp_repr = signal_repr,
    .tp_members = signal_members,
    .tp_getset = signal_getset,
};

/* buy/sell(qty, symbol=None, price=None, client_order_id=None): a LIMIT order
 * with a price, else MARKET. Inside a callback the id is drawn from the host
 * at once, so the script can remember it. */
static PyObject *order(int side, PyObject *args, PyObject *kw)
{
    static char *names[] = { "qty", "symbol", "price", "client_order_id", NULL };
    double qty, price = 0;
    const char *symbol = NULL, *coid = NULL;
    PyObject *py_price = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "d|zOz", names, &qty, &symbol, &py_price, &coid))
        return NULL;
    if (py_price != Py_None) {
        price = PyFloat_AsDouble(py_price);
        if (price == -1.0 && PyErr_Occurred())
            return NULL;
    }
    char id[STRAT_ID_MAX] = "";
    if (!coid && current && current->host->new_order_id) {
        current->host->new_order_id(current->host->ctx, id);
        id[STRAT_ID_MAX - 1] = '\0';
        coid = id;
    }
    return signal_make(&signal_type, STRAT_NEW, side, py_price != Py_None ? STRAT_LIMIT : STRAT_MARKET, qty,
                       price, symbol, coid);
}

static PyObject *mod_buy(PyObject *m, PyObject *args, PyObject *kw)
{
    (void)m;
    return order(STRAT_BUY, args, kw);
}

static PyObject *mod_sell(PyObject *m, PyObject *args, PyObject *kw)
{
    (void)m;
    return order(STRAT_SELL, args, kw);
}

static PyObject *mod_cancel(PyObject *m, PyObject *args, PyObject *kw)
{
    (void)m;
    static char *names[] = { "client_order_id", "symbol", NULL };
    const char *coid, *symbol = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|z:cancel", names, &coid, &symbol))
        return NULL;
    return signal_make(&signal_type, STRAT_CANCEL, 0, 0, 0, 0, symbol, coid);
}

static const strat_host_t *need_host(const char *what)
{
    if (!current) {
        PyErr_Format(PyExc_RuntimeError, "%s() works only inside a strategy callback", what);
        return NULL;
    }
    return current->host;
}

static PyObject *mod_new_order_id(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    const strat_host_t *h = need_host("new_order_id");
    if (!h)
        return NULL;
    char id[STRAT_ID_MAX] = "";
    h->new_order_id(h->ctx, id);
    id[STRAT_ID_MAX - 1] = '\0';
    return PyUnicode_FromString(id);
}

static PyObject *mod_now_ns(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    const strat_host_t *h = need_host("now_ns");
    return h ? PyLong_FromLongLong(h->now_ns(h->ctx)) : NULL;
}

static PyObject *mod_log(PyObject *m, PyObject *args, PyObject *kw)
{
    (void)m;
    static char *names[] = { "msg", "level", NULL };
    const char *msg;
    int level = STRAT_LOG_INFO;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|i:log", names, &msg, &level))
        return NULL;
    const strat_host_t *h = need_host("log");
    if (!h)
        return NULL;
    host_log(h, level, msg);
    Py_RETURN_NONE;
}

#define KW_FN(f) ((PyCFunction)(void (*)(void))(f))
static PyMethodDef module_functions[] = {
    { "buy", KW_FN(mod_buy), METH_VARARGS | METH_KEYWORDS,
      "buy(qty, symbol=None, price=None, client_order_id=None) -> Signal: LIMIT with a price, else MARKET" },
    { "sell", KW_FN(mod_sell), METH_VARARGS | METH_KEYWORDS,
      "sell(qty, symbol=None, price=None, client_order_id=None) -> Signal: LIMIT with a price, else MARKET" },
    { "cancel", KW_FN(mod_cancel), METH_VARARGS | METH_KEYWORDS,
      "cancel(client_order_id, symbol=None) -> Signal" },
    { "new_order_id", mod_new_order_id, METH_NOARGS, "a fresh client_order_id from the host" },
    { "now_ns", mod_now_ns, METH_NOARGS, "the engine's clock: the time of the event being handled (ns)" },
    { "log", KW_FN(mod_log), METH_VARARGS | METH_KEYWORDS, "log(msg, level=LOG_INFO): one line in the engine's log" },
    { 0 },
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = MODULE_NAME,
    .m_doc = "What strategyd offers a Python strategy (README: \"Python strategies\").",
    .m_size = -1,
    .m_methods = module_functions,
};

/* Fill, Position and OrderUpdate are rare: named tuples built per call. */
static PyTypeObject *fill_type, *position_type, *update_type;

static PyTypeObject *struct_type(const char *name, const char *doc, PyStructSequence_Field *fields, int n)
{
    PyStructSequence_Desc d = { (char *)name, (char *)doc, fields, n };
    return PyStructSequence_NewType(&d);
}

static PyObject *module_init(void)
{
    static PyStructSequence_Field fill_fields[] = {
        { "fill_id", NULL }, { "client_order_id", NULL }, { "symbol", NULL }, { "side", "BUY or SELL" },
        { "qty", "> 0" }, { "price", NULL }, { "ts_ns", NULL }, { 0 },
    };
    static PyStructSequence_Field position_fields[] = {
        { "symbol", NULL }, { "qty", "signed: negative is short" }, { "avg_price", NULL }, { "ts_ns", NULL },
        { 0 },
    };
    static PyStructSequence_Field update_fields[] = {
        { "client_order_id", NULL }, { "symbol", NULL }, { "status", "REJECTED or CANCELLED" },
        { "open_qty", "the quantity that will now never fill" }, { "reason", NULL }, { 0 },
    };
    if (PyType_Ready(&tick_type) < 0 || PyType_Ready(&signal_type) < 0)
        return NULL;
    if (!fill_type)
        fill_type = struct_type(MODULE_NAME ".Fill", "An execution of one of this strategy's orders.",
                                fill_fields, 7);
    if (!position_type)
        position_type = struct_type(MODULE_NAME ".Position", "The engine's position of this strategy in a symbol.",
                                    position_fields, 4);
    if (!update_type)
        update_type = struct_type(MODULE_NAME ".OrderUpdate", "An order that will not fill (any more).",
                                  update_fields, 5);
    if (!fill_type || !position_type || !update_type)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    static const struct {
        const char *name;
        int value;
    } consts[] = {
        { "BUY", STRAT_BUY }, { "SELL", STRAT_SELL }, { "MARKET", STRAT_MARKET }, { "LIMIT", STRAT_LIMIT },
        { "NEW", STRAT_NEW }, { "CANCEL", STRAT_CANCEL }, { "REJECTED", STRAT_ORDER_REJECTED },
        { "CANCELLED", STRAT_ORDER_CANCELLED }, { "LOG_DEBUG", STRAT_LOG_DEBUG }, { "LOG_INFO", STRAT_LOG_INFO },
        { "LOG_WARN", STRAT_LOG_WARN }, { "LOG_ERROR", STRAT_LOG_ERROR },
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0)
            goto fail;
    if (PyModule_AddObjectRef(m, "Tick", (PyObject *)&tick_type) < 0 ||
        PyModule_AddObjectRef(m, "Signal", (PyObject *)&signal_type) < 0 ||
        PyModule_AddObjectRef(m, "Fill", (PyObject *)fill_type) < 0 ||
        PyModule_AddObjectRef(m, "Position", (PyObject *)position_type) < 0 ||
        PyModule_AddObjectRef(m, "OrderUpdate", (PyObject *)update_type) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}

static PyObject *PyInit_strategy_engine(void)
{
    return module_init();
}

/* ---------------------------------------------------------------- interpreter */

static int start_python(void)
{
    if (Py_IsInitialized())
        return 0;
    if (PyImport_AppendInittab(MODULE_NAME, PyInit_strategy_engine) < 0)
        return se_err(-ENOMEM, "python: cannot register module " MODULE_NAME);
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.install_signal_handlers = 0; /* SIGINT/SIGTERM stay strategyd's */
    config.write_bytecode = 0;          /* never write __pycache__ into the plugins directory */
    config.parse_argv = 0;
    /* The standard library is found from the program's path, then
     * libpython's own prefix; never from whatever "python3" is on PATH. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    PyStatus st = PyStatus_Ok();
    if (n > 0) {
        exe[n] = '\0';
        st = PyConfig_SetBytesString(&config, &config.program_name, exe);
    }
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st))
        return se_err(-EINVAL, "python: the interpreter did not start: %s%s%s", st.func ? st.func : "",
                      st.func ? ": " : "", st.err_msg ? st.err_msg : "unknown error");
    /* Ready our types now: a script need not import the module to get ticks. */
    PyObject *m = PyImport_ImportModule(MODULE_NAME);
    if (!m) {
        char what[512];
        take_exception(what, sizeof what, false);
        return se_err(-EINVAL, "python: module " MODULE_NAME " did not load: %s", what);
    }
    Py_DECREF(m);
    return 0;
}

/* ---------------------------------------------------------------- loading */

static script_t *find_script(const char *instance)
{
    for (int i = 0; i < PYHOST_MAX_SCRIPTS; i++)
        if (scripts[i].used && strcmp(scripts[i].instance, instance) == 0)
            return &scripts[i];
    return NULL;
}

/* The line in path where the pending exception (raised while the script
 * ran) happened: its SyntaxError's line, or the last traceback frame in the
 * script; 0 if none. */
static long error_line(const char *path)
{
    PyObject *type, *value, *tb;
    long line = 0;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value && PyErr_GivenExceptionMatches(value, PyExc_SyntaxError)) {
        PyObject *l = PyObject_GetAttrString(value, "lineno");
        if (l && PyLong_Check(l))
            line = PyLong_AsLong(l);
        Py_XDECREF(l);
        PyErr_Clear();
    }
    for (PyTracebackObject *t = line ? NULL : (PyTracebackObject *)tb; t; t = t->tb_next) {
        PyCodeObject *code = PyFrame_GetCode(t->tb_frame);
        const char *file = PyUnicode_AsUTF8(code->co_filename);
        if (file && strcmp(file, path) == 0)
            line = t->tb_lineno; /* the deepest frame in the script wins */
        Py_DECREF(code);
        PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
    return line;
}

/* Compiles and runs the script as a fresh module. */
static int run_script(script_t *s)
{
    FILE *f = fopen(s->path, "rb");
    if (!f)
        return se_err(-errno, "strategy %s: script %s: %s", s->instance, s->path, strerror(errno));
    char *src = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *more = cap > (64u << 20) ? NULL : realloc(src, cap = cap ? cap * 2 : 65536);
            if (!more) {
                free(src);
                fclose(f);
                return se_err(-EFBIG, "strategy %s: script %s is too large", s->instance, s->path);
            }
            src = more;
        }
        size_t got = fread(src + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad_read = ferror(f);
    fclose(f);
    if (bad_read) {
        free(src);
        return se_err(-EIO, "strategy %s: script %s cannot be read", s->instance, s->path);
    }
    src[len] = '\0';
    if (strlen(src) != len) {
        free(src);
        return se_err(-EINVAL, "strategy %s: script %s contains a NUL byte", s->instance, s->path);
    }
    PyObject *code = Py_CompileStringExFlags(src, s->path, Py_file_input, NULL, -1);
    free(src);
    PyObject *mod = code ? PyImport_ExecCodeModuleEx(s->modname, code, s->path) : NULL;
    Py_XDECREF(code);
    if (!mod) {
        long line = error_line(s->path);
        char what[512];
        take_exception(what, sizeof what, false);
        return se_err(-EINVAL, "strategy %s: script %s:%ld: %s", s->instance, s->path, line, what);
    }
    s->module = mod;
    return 0;
}

static int script_error(script_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int script_error(script_t *s, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    PyErr_Clear();
    return se_err(-EINVAL, "strategy %s: script %s: %s", s->instance, s->path, what);
}

/* The strategy class: the named one, or the only class of the script with
 * an on_market_data method. */
static int find_class(script_t *s, const char *class_name)
{
    PyObject *dict = PyModule_GetDict(s->module); /* borrowed */
    if (class_name && class_name[0]) {
        PyObject *c = PyDict_GetItemString(dict, class_name);
        if (!c || !PyType_Check(c))
            return script_error(s, "defines no class %s (strategies.configs.%s.class)", class_name, s->instance);
        s->cls = Py_NewRef(c);
        return 0;
    }
    /* A snapshot: looking at attributes may run the script's code. */
    PyObject *values = PyDict_Values(dict), *found = NULL;
    if (!values)
        return script_error(s, "cannot list its names");
    int n = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(values); i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (!PyType_Check(value) || !PyObject_HasAttrString(value, "on_market_data"))
            continue;
        PyObject *owner = PyObject_GetAttrString(value, "__module__");
        bool ours = owner && PyUnicode_Check(owner) && PyUnicode_CompareWithASCIIString(owner, s->modname) == 0;
        Py_XDECREF(owner);
        PyErr_Clear();
        if (!ours) /* imported from elsewhere, e.g. a base class */
            continue;
        n++;
        found = value;
    }
    if (n == 1)
        s->cls = Py_NewRef(found);
    Py_DECREF(values);
    if (n != 1)
        return script_error(s, "%s class with an on_market_data method: name the strategy's class with "
                            "strategies.configs.%s.class", n ? "more than one" : "no", s->instance);
    return 0;
}

static int check_methods(script_t *s)
{
    static const char *const required[] = { "init", "on_market_data", "on_fill", "on_position_update",
                                            "metrics" };
    static const char *const optional[] = { "start", "stop", "on_order_update" };
    const char *cname = ((PyTypeObject *)s->cls)->tp_name;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        PyObject *m = PyObject_GetAttrString(s->cls, required[i]);
        bool ok = m && PyCallable_Check(m);
        Py_XDECREF(m);
        if (!ok)
            return script_error(s, "class %s has no method %s()", cname, required[i]);
    }
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
        PyObject *m = PyObject_GetAttrString(s->cls, optional[i]);
        bool bad = m && !PyCallable_Check(m);
        Py_XDECREF(m);
        PyErr_Clear();
        if (bad)
            return script_error(s, "class %s: %s is not a method", cname, optional[i]);
    }
    return 0;
}

static void forget(script_t *s)
{
    if (s->module) {
        PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
        if (PyDict_GetItemString(modules, s->modname))
            PyDict_DelItemString(modules, s->modname);
        PyErr_Clear();
    }
    Py_CLEAR(s->cls);
    Py_CLEAR(s->module);
    memset(s, 0, sizeof *s);
}

/* Puts the script's directory first on sys.path, once. */
static int add_path(script_t *s)
{
    char dir[sizeof s->path];
    snprintf(dir, sizeof dir, "%s", s->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        strcpy(dir, ".");
    PyObject *sys_path = PySys_GetObject("path"); /* borrowed */
    PyObject *d = PyUnicode_DecodeFSDefault(dir);
    int rc = sys_path && d ? PySequence_Contains(sys_path, d) : -1;
    if (rc == 0)
        rc = PyList_Insert(sys_path, 0, d);
    Py_XDECREF(d);
    if (rc < 0)
        return script_error(s, "cannot add %s to sys.path", dir);
    return 0;
}

static const strat_plugin_t python_plugin;

int pyhost_load(const char *instance, const char *path, const char *class_name, const cfg_t *cfg,
                const char *cfg_group, const strat_plugin_t **out)
{
    *out = NULL;
    if (find_script(instance))
        return se_err(-EEXIST, "strategy %s: a script is already loaded for it", instance);
    script_t *s = NULL;
    for (int i = 0; i < PYHOST_MAX_SCRIPTS && !s; i++)
        if (!scripts[i].used)
            s = &scripts[i];
    if (!s)
        return se_err(-ENOSPC, "strategy %s: more than %d Python scripts in one process", instance,
                      PYHOST_MAX_SCRIPTS);
    if (strlen(instance) >= sizeof s->instance || strlen(path) >= sizeof s->path ||
        (cfg_group && strlen(cfg_group) >= sizeof s->group))
        return se_err(-ENAMETOOLONG, "strategy %s: name, script path or config group too long", instance);
    int rc = start_python();
    if (rc < 0)
        return rc;
    memset(s, 0, sizeof *s);
    s->used = true;
    strcpy(s->instance, instance);
    strcpy(s->path, path);
    snprintf(s->modname, sizeof s->modname, "se_script_%s", instance);
    s->cfg = cfg;
    snprintf(s->group, sizeof s->group, "%s", cfg_group ? cfg_group : "");
    if ((rc = add_path(s)) < 0 || (rc = run_script(s)) < 0 || (rc = find_class(s, class_name)) < 0 ||
        (rc = check_methods(s)) < 0) {
        forget(s);
        return rc;
    }
    *out = &python_plugin;
    return 0;
}

void pyhost_unload(const char *instance)
{
    script_t *s = find_script(instance);
    if (s)
        forget(s);
}

/* ---------------------------------------------------------------- the ABI */

/* The config group as Python values; NULL with a Python error. */
static PyObject *config_value(const cfg_node_t *n)
{
    switch (n->type) {
    case CFG_NODE_INT: return PyLong_FromLongLong(n->i);
    case CFG_NODE_FLOAT: return PyFloat_FromDouble(n->d);
    case CFG_NODE_BOOL: return PyBool_FromLong(n->b);
    case CFG_NODE_STRING: return PyUnicode_DecodeUTF8(n->s, (Py_ssize_t)strlen(n->s), "replace");
    case CFG_NODE_GROUP:
    case CFG_NODE_LIST:
        break;
    }
    bool group = n->type == CFG_NODE_GROUP;
    PyObject *c = group ? PyDict_New() : PyList_New(n->count);
    for (int i = 0; c && i < n->count; i++) {
        cfg_node_t child;
        PyObject *v = cfg_node_child(n, i, &child) == 0 ? config_value(&child) : NULL;
        if (!v) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "configuration changed while read");
            Py_CLEAR(c);
        } else if (group) {
            if (PyDict_SetItemString(c, child.name, v) < 0)
                Py_CLEAR(c);
            Py_DECREF(v);
        } else {
            PyList_SET_ITEM(c, i, v); /* steals v */
        }
    }
    return c;
}

static PyObject *config_dict(const script_t *s)
{
    cfg_node_t n;
    if (!s->group[0] || cfg_node(s->cfg, s->group, &n) < 0)
        return PyDict_New();
    if (n.type != CFG_NODE_GROUP) {
        PyErr_Format(PyExc_TypeError, "%s is not a group", s->group);
        return NULL;
    }
    return config_value(&n);
}

static PyObject *method(PyObject *obj, const char *name, bool required)
{
    PyObject *m = PyObject_GetAttrString(obj, name);
    if (!m && !required)
        PyErr_Clear();
    return m;
}

static void pystrat_free(pystrat_t *ps)
{
    Py_XDECREF(ps->m_init);
    Py_XDECREF(ps->m_tick);
    Py_XDECREF(ps->m_fill);
    Py_XDECREF(ps->m_position);
    Py_XDECREF(ps->m_update);
    Py_XDECREF(ps->m_start);
    Py_XDECREF(ps->m_stop);
    Py_XDECREF(ps->m_metrics);
    Py_XDECREF(ps->tick);
    for (int i = 0; i < ps->nsyms; i++)
        Py_DECREF(ps->syms[i].str);
    Py_XDECREF(ps->obj);
    free(ps);
}

static void *py_create(const strat_host_t *host)
{
    script_t *s = host && host->instance_name ? find_script(host->instance_name) : NULL;
    if (!s) {
        host_log(host, STRAT_LOG_ERROR, "python: no script loaded for this strategy instance");
        return NULL;
    }
    pystrat_t *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    ps->host = host;
    ps->script = s;
    ps->log_tokens = LOG_BURST;
    pystrat_t *outer = current;
    current = ps;
    ps->obj = PyObject_CallNoArgs(s->cls);
    if (ps->obj) {
        ps->m_init = method(ps->obj, "init", true);
        ps->m_tick = method(ps->obj, "on_market_data", true);
        ps->m_fill = method(ps->obj, "on_fill", true);
        ps->m_position = method(ps->obj, "on_position_update", true);
        ps->m_metrics = method(ps->obj, "metrics", true);
        ps->m_update = method(ps->obj, "on_order_update", false);
        ps->m_start = method(ps->obj, "start", false);
        ps->m_stop = method(ps->obj, "stop", false);
    }
    current = outer;
    if (!ps->obj || !ps->m_init || !ps->m_tick || !ps->m_fill || !ps->m_position || !ps->m_metrics) {
        char what[MSG_MAX - 128];
        take_exception(what, sizeof what, true);
        char msg[MSG_MAX];
        snprintf(msg, sizeof msg, "python: %s() failed: %s", ((PyTypeObject *)s->cls)->tp_name, what);
        host_log(host, STRAT_LOG_ERROR, msg);
        pystrat_free(ps);
        return NULL;
    }
    return ps;
}

/* Calls m(arg) (no argument when arg is NULL) as strategy ps. Returns the
 * result (a new reference) or NULL with the exception pending. */
static PyObject *call(pystrat_t *ps, PyObject *m, PyObject *arg)
{
    pystrat_t *outer = current;
    current = ps;
    PyObject *r = arg ? PyObject_CallOneArg(m, arg) : PyObject_CallNoArgs(m);
    current = outer;
    return r;
}

/* Calls a method whose result does not matter with arg (stolen; NULL: its
 * construction failed) or, when has_arg is false, none. Returns 0 or the
 * ABI's error. */
static int call_void(pystrat_t *ps, PyObject *m, bool has_arg, PyObject *arg, const char *name)
{
    if (has_arg && !arg)
        return raised(ps, name);
    PyObject *r = call(ps, m, arg);
    Py_XDECREF(arg);
    if (!r)
        return raised(ps, name);
    Py_DECREF(r);
    return 0;
}

static int py_init(void *state)
{
    pystrat_t *ps = state;
    PyObject *conf = config_dict(ps->script);
    if (!conf)
        return raised(ps, "init (building the config dict)");
    PyObject *r = call(ps, ps->m_init, conf);
    Py_DECREF(conf);
    if (!r) {
        char what[MSG_MAX - 128];
        take_exception(what, sizeof what, true);
        char msg[MSG_MAX];
        snprintf(msg, sizeof msg, "python: init refused the configuration: %s", what);
        host_log(ps->host, STRAT_LOG_ERROR, msg);
        return -EINVAL;
    }
    Py_DECREF(r);
    return 0;
}

static PyObject *text(const char *s)
{
    s = s ? s : "";
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* A named tuple of type filled from values (stolen); NULL if any is NULL. */
static PyObject *record(PyTypeObject *type, PyObject **values, int n)
{
    PyObject *r = PyStructSequence_New(type);
    for (int i = 0; i < n; i++) {
        if (!values[i] || !r) {
            for (int j = i; j < n; j++)
                Py_XDECREF(values[j]);
            Py_XDECREF(r);
            return NULL;
        }
        PyStructSequence_SetItem(r, i, values[i]);
    }
    return r;
}

/* Reports a refused batch (a list or tuple) back as rejected orders
 * (strategy.h: a NEW signal the host does not pass on comes back as
 * REJECTED), so pending quantities never leak. */
static void reject_batch(pystrat_t *ps, PyObject *batch, const char *reason)
{
    /* A snapshot: on_order_update may change the list the script returned. */
    PyObject *snap = ps->m_update ? PySequence_Tuple(batch) : NULL;
    if (!snap) {
        PyErr_Clear();
        return;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(snap);
    PyObject **items = &PyTuple_GET_ITEM(snap, 0);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (Py_TYPE(items[i]) != &signal_type)
            continue;
        const strat_signal_t *s = &((signal_obj_t *)items[i])->s;
        if (s->action != STRAT_NEW || !s->client_order_id[0])
            continue;
        PyObject *v[5] = { text(s->client_order_id), text(s->symbol), PyLong_FromLong(STRAT_ORDER_REJECTED),
                           PyFloat_FromDouble(s->qty), text(reason) };
        call_void(ps, ps->m_update, true, record(update_type, v, 5), "on_order_update");
    }
    Py_DECREF(snap);
}

/* Strict: anything the host could misread is refused with the reason. */
static const char *signal_problem(const strat_signal_t *s)
{
    if (s->action == STRAT_CANCEL)
        return s->client_order_id[0] ? NULL : "a CANCEL names the client_order_id to cancel";
    if (s->action != STRAT_NEW)
        return "action is neither NEW nor CANCEL";
    if (s->side != STRAT_BUY && s->side != STRAT_SELL)
        return "side is neither BUY nor SELL";
    if (!(isfinite(s->qty) && s->qty > 0))
        return "qty must be a finite number > 0";
    if (s->type == STRAT_LIMIT)
        return isfinite(s->price) && s->price > 0 ? NULL : "a LIMIT price must be a finite number > 0";
    if (s->type != STRAT_MARKET)
        return "type is neither MARKET nor LIMIT";
    return s->price == 0 ? NULL : "a MARKET order carries no price (give price= for a LIMIT)";
}

static int py_on_market_data(void *state, const strat_tick_t *tick, strat_signal_t *out, int max_out)
{
    pystrat_t *ps = state;
    tick_obj_t *k = tick_for(ps, tick);
    if (!k)
        return raised(ps, "on_market_data (building the tick)");
    PyObject *r = call(ps, ps->m_tick, (PyObject *)k);
    if (!r)
        return raised(ps, "on_market_data");
    if (r == Py_None) {
        Py_DECREF(r);
        return 0;
    }
    if (!PyList_CheckExact(r) && !PyTuple_CheckExact(r)) {
        complain(ps, "on_market_data returned a %s: it must return a list of signals (or None)",
                 Py_TYPE(r)->tp_name);
        Py_DECREF(r);
        return -EINVAL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(r);
    PyObject **items = PySequence_Fast_ITEMS(r);
    const char *problem = NULL;
    Py_ssize_t bad = 0;
    char reason[160];
    if (n > max_out) {
        snprintf(reason, sizeof reason, "%zd signals in one call, at most %d", n, max_out);
        problem = reason;
    }
    for (Py_ssize_t i = 0; !problem && i < n; i++) {
        if (Py_TYPE(items[i]) != &signal_type) {
            snprintf(reason, sizeof reason, "a %s, not a Signal (build signals with buy, sell or cancel)",
                     Py_TYPE(items[i])->tp_name);
            problem = reason;
        } else {
            out[i] = ((signal_obj_t *)items[i])->s;
            problem = signal_problem(&out[i]);
        }
        bad = i;
    }
    if (problem) {
        char shown[200] = "";
        if (!(n > max_out)) {
            PyObject *rep = PyObject_Repr(items[bad]);
            snprintf(shown, sizeof shown, " (%s)", rep ? PyUnicode_AsUTF8(rep) : "?");
            Py_XDECREF(rep);
            PyErr_Clear();
        }
        complain(ps, "on_market_data returned a bad signal: signal %zd%s: %s; none of the %zd sent", bad, shown,
                 problem, n);
        reject_batch(ps, r, "refused by strategyd: bad signal in the same batch");
        Py_DECREF(r);
        return -EINVAL;
    }
    Py_DECREF(r);
    return (int)n;
}

static int py_on_fill(void *state, const strat_fill_t *f)
{
    pystrat_t *ps = state;
    PyObject *v[7] = { text(f->fill_id), text(f->client_order_id), text(f->symbol), PyLong_FromLong(f->side),
                       PyFloat_FromDouble(f->qty), PyFloat_FromDouble(f->price), PyLong_FromLongLong(f->ts_ns) };
    return call_void(ps, ps->m_fill, true, record(fill_type, v, 7), "on_fill");
}

static int py_on_position_update(void *state, const strat_position_t *p)
{
    pystrat_t *ps = state;
    PyObject *v[4] = { text(p->symbol), PyFloat_FromDouble(p->qty), PyFloat_FromDouble(p->avg_price),
                       PyLong_FromLongLong(p->ts_ns) };
    return call_void(ps, ps->m_position, true, record(position_type, v, 4), "on_position_update");
}

static int py_on_order_update(void *state, const strat_order_update_t *u)
{
    pystrat_t *ps = state;
    if (!ps->m_update)
        return 0;
    PyObject *v[5] = { text(u->client_order_id), text(u->symbol), PyLong_FromLong(u->status),
                       PyFloat_FromDouble(u->open_qty), text(u->reason) };
    return call_void(ps, ps->m_update, true, record(update_type, v, 5), "on_order_update");
}

static int py_start(void *state)
{
    pystrat_t *ps = state;
    if (ps->m_start && call_void(ps, ps->m_start, false, NULL, "start") < 0)
        return -EINVAL;
    ps->running = true;
    return 0;
}

static int py_stop(void *state)
{
    pystrat_t *ps = state;
    if (!ps->running)
        return 0;
    ps->running = false;
    return ps->m_stop ? call_void(ps, ps->m_stop, false, NULL, "stop") : 0;
}

static int py_is_running(void *state)
{
    return ((pystrat_t *)state)->running;
}

/* A Prometheus-safe label value: [A-Za-z_][A-Za-z0-9_]*, short. */
static bool metric_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= PYHOST_METRIC_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

static int py_metrics(void *state, strat_metric_t *out, int max_out)
{
    pystrat_t *ps = state;
    PyObject *r = call(ps, ps->m_metrics, NULL);
    if (!r)
        return raised(ps, "metrics");
    const char *problem = NULL;
    char reason[160];
    if (!PyDict_Check(r)) {
        snprintf(reason, sizeof reason, "returned a %s, not a dict of name -> number", Py_TYPE(r)->tp_name);
        problem = reason;
    } else if (PyDict_Size(r) > PYHOST_MAX_METRICS) {
        snprintf(reason, sizeof reason, "returned %zd metrics, at most %d", PyDict_Size(r), PYHOST_MAX_METRICS);
        problem = reason;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    int n = 0;
    while (!problem && PyDict_Next(r, &pos, &key, &value) && n < max_out) {
        const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!name || !metric_name_ok(name)) {
            PyErr_Clear();
            snprintf(reason, sizeof reason, "metric names are str of [A-Za-z_][A-Za-z0-9_]*, at most %d bytes",
                     PYHOST_METRIC_NAME_MAX - 1);
            problem = reason;
        } else if (!PyLong_Check(value) && !PyFloat_Check(value)) {
            snprintf(reason, sizeof reason, "metric %s is a %s, not a number", name, Py_TYPE(value)->tp_name);
            problem = reason;
        } else {
            double d = PyFloat_AsDouble(value);
            if (d == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                snprintf(reason, sizeof reason, "metric %s does not fit a float", name);
                problem = reason;
                break;
            }
            strcpy(ps->metric_names[n], name);
            out[n].name = ps->metric_names[n];
            out[n].value = d;
            n++;
        }
    }
    Py_DECREF(r);
    if (problem) {
        complain(ps, "metrics() %s", problem);
        return -EINVAL;
    }
    return n;
}

static void py_destroy(void *state)
{
    if (state)
        pystrat_free(state);
}

static const strat_plugin_t python_plugin = {
    .abi_version = STRAT_ABI_VERSION,
    .size = sizeof(strat_plugin_t),
    .name = "python",
    .create = py_create,
    .init = py_init,
    .on_market_data = py_on_market_data,
    .on_fill = py_on_fill,
    .on_position_update = py_on_position_update,
    .on_order_update = py_on_order_update,
    .start = py_start,
    .stop = py_stop,
    .is_running = py_is_running,
    .metrics = py_metrics,
    .destroy = py_destroy,
};
