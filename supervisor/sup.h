/* sup.h -- the supervisor itself: takes over the instance (the control
 * socket's name is its lock; processes left by an earlier run are stopped),
 * starts the processes of the plan in dependency order, restarts what dies
 * (backoff, restart intensity), hot-reloads strategies, answers the control
 * socket, publishes stats.supervisor, and on SIGTERM/SIGINT or `stop` stops
 * everything in reverse order and removes the instance's segments.
 * bin/strategy-engine's main is a thin shell around sup_run. */
#ifndef SUPERVISOR_SUP_H
#define SUPERVISOR_SUP_H

/* Runs the supervisor for the config file at conf_path, spawning the
 * programs found in bin_dir. Returns the process exit status: 0 after a
 * graceful stop, 1 when it could not start (one log line says why). */
int sup_run(const char *conf_path, const char *bin_dir);

#endif
