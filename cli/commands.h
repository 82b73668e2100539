/* Sub-commands of the `reusenet` program. Each takes the arguments after its name
 * (argv[0] is the sub-command name) and returns the process exit status:
 * 0 on success, 1 on an error it has printed as one line, 2 on bad usage. */
#ifndef REUSENET_COMMANDS_H
#define REUSENET_COMMANDS_H

int cmd_data(int argc, char **argv);       /* data synth|info|preview   (cli/cmd_data.c) */

#endif
