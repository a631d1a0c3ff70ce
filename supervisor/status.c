/* status.c -- see status.h. */
#include "supervisor/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http.h"

static const char *kind_name(proc_kind_t k)
{
    static const char *const names[PROC_KINDS] = { "ingest", "execd", "riskd", "strategy" };
    return k < PROC_KINDS ? names[k] : "unknown";
}

/* Seconds since it became ready (or was spawned, while starting), 0 when down. */
static double uptime_s(const proc_t *p, int64_t now)
{
    if (p->pid <= 0)
        return 0;
    int64_t since = p->state == PROC_RUNNING || p->state == PROC_STOPPING ? p->ready_ns : p->spawned_ns;
    if (since <= 0)
        since = p->spawned_ns;
    return now > since ? (double)(now - since) / 1e9 : 0;
}

static void render_json(FILE *f, const status_info_t *info, const proc_t *procs, int n)
{
    fprintf(f, "{\"instance\":");
    http_json_str(f, info->instance);
    fprintf(f, ",\"supervisor_pid\":%d,\"hot_reload\":%s,\"stopping\":%s,\"processes\":[",
            (int)info->supervisor_pid, info->hot_reload ? "true" : "false", info->stopping ? "true" : "false");
    for (int i = 0; i < n; i++) {
        const proc_t *p = &procs[i];
        char last[64];
        proc_describe_status(p->last_status, last, sizeof last);
        fprintf(f, "%s{\"name\":", i ? "," : "");
        http_json_str(f, p->name);
        fprintf(f, ",\"kind\":\"%s\",\"strategy\":", kind_name(p->kind));
        http_json_str(f, p->strategy);
        fprintf(f, ",\"pid\":%d,\"state\":\"%s\",\"restarts\":%llu,\"reloads\":%llu,\"uptime_s\":%.3f,"
                   "\"last_exit\":",
                (int)p->pid, proc_state_name(p->state), (unsigned long long)p->restarts,
                (unsigned long long)p->reloads, uptime_s(p, info->now_mono_ns));
        http_json_str(f, last);
        if (p->last_restart_ns >= 0)
            fprintf(f, ",\"last_restart_ms\":%.3f", (double)p->last_restart_ns / 1e6);
        else
            fprintf(f, ",\"last_restart_ms\":null");
        fprintf(f, ",\"file\":");
        http_json_str(f, p->file.path);
        fputc('}', f);
    }
    fprintf(f, "]}\n");
}

static void render_table(FILE *f, const status_info_t *info, const proc_t *procs, int n)
{
    fprintf(f, "instance %s, supervisor pid %d, hot reload %s%s\n", info->instance, (int)info->supervisor_pid,
            info->hot_reload ? "on" : "off", info->stopping ? ", stopping" : "");
    fprintf(f, "%-34s %8s  %-9s %8s %8s %11s  %s\n", "PROCESS", "PID", "STATE", "RESTARTS", "RELOADS",
            "UPTIME", "LAST EXIT");
    for (int i = 0; i < n; i++) {
        const proc_t *p = &procs[i];
        char last[64], pid[16];
        proc_describe_status(p->last_status, last, sizeof last);
        if (p->pid > 0)
            snprintf(pid, sizeof pid, "%d", (int)p->pid);
        else
            strcpy(pid, "-");
        fprintf(f, "%-34s %8s  %-9s %8llu %8llu %10.1fs  %s\n", p->name, pid, proc_state_name(p->state),
                (unsigned long long)p->restarts, (unsigned long long)p->reloads,
                uptime_s(p, info->now_mono_ns), p->last_status < 0 ? "-" : last);
    }
}

char *status_render(const status_info_t *info, const proc_t *procs, int n, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    if (json)
        render_json(f, info, procs, n);
    else
        render_table(f, info, procs, n);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
