/* GDT selectors of the guests' flat 32-bit protected-mode segments (Intel SDM vol 3 §3.4.5,
   "Segment Descriptors"); the table itself is in start.S. Included by C and assembly. */
#ifndef TESTGUEST_SEGMENTS_H
#define TESTGUEST_SEGMENTS_H

#define GDT_CODE32 0x08
#define GDT_DATA32 0x10

#endif
