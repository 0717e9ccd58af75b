/* cmd/cli.h: subcommands of the driftgate executable. Each returns the
 * process exit code (0 ok, 1 findings, 2 usage/spec/IO error). */
#ifndef DG_CMD_CLI_H
#define DG_CMD_CLI_H

int dg_cmd_validate(int argc, char **argv);
int dg_cmd_lint(int argc, char **argv);
int dg_cmd_run(int argc, char **argv);           /* cmd/run_cmd.c */
int dg_cmd_check_config(int argc, char **argv);  /* cmd/check_config_cmd.c */
int dg_cmd_replay(int argc, char **argv);        /* cmd/replay_cmd.c */
int dg_cmd_explain(int argc, char **argv);       /* cmd/explain_cmd.c */
int dg_cmd_report(int argc, char **argv);        /* cmd/report_cmd.c */

/* 1 when option argv[i] has a value after it; else prints
 * "driftgate CMD: OPTION needs a value" and returns 0. */
int dg_cli_need_value(const char *cmd, int i, int argc, char **argv);

/* Parses "URL=PATH" into a newly allocated pair appended to *pairs. */
int dg_cli_add_ref_map(const char *arg, char ***pairs, size_t *npairs);

#endif
