/* Clocks as seconds in a double: monotonic for intervals and deadlines,
 * wall time for what people read (task submit, start and end times). */
#ifndef CLUSTER_CLOCK_H
#define CLUSTER_CLOCK_H

double clock_monotonic(void);
double clock_wall(void);

#endif
