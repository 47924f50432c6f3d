/* Architectural constants shared by the guests' C and assembly. */
#pragma once

#define GDT_CODE32 0x08
#define GDT_CODE64 0x10
#define GDT_DATA 0x18
#define GDT_LIMIT (4 * 8 - 1)  /* null, code32, code64, data */

#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

#define PTE_PRESENT 0x1
#define PTE_WRITABLE 0x2
#define PTE_LARGE 0x80

#define BOOT_STACK_SIZE 0x4000
