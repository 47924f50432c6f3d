/* Entry points shared by every test guest.
 *
 * _start (the ELF entry) is the Linux 64-bit boot protocol: long mode, identity-mapped
 * paging, RSI = zero page. pvh_entry32 (named by the PVH ELF note) is how QEMU's -kernel
 * enters: flat 32-bit protected mode, paging off, EBX = hvm_start_info. It builds its own
 * identity map and joins the same 64-bit path, so one ELF runs under both. */
#include "runtime/x86.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.p2align 2
	.long 4                         /* namesz: "Xen\0" */
	.long 4                         /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_entry32

	.section .text.entry, "ax", @progbits
	.code64
	.globl _start
_start:
	cli
	cld
	movq %rsi, %rbx                 /* the zero page survives zeroing .bss in rbx */
	leaq __bss_start(%rip), %rdi
	leaq __bss_end(%rip), %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq
	movq %rbx, boot_zero_page(%rip)
	jmp common64

	.code32
	.globl pvh_entry32
pvh_entry32:
	cli
	cld
	movl $__bss_start, %edi         /* ebx (start_info) is left alone */
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	movl %ebx, boot_pvh_start_info  /* a u64 whose high half .bss zeroing just cleared */

	/* Identity map of 4 GiB: PML4[0] -> PDPT[0..3] -> four PDs of 2 MiB pages. */
	movl $(pvh_pdpt + PTE_PRESENT + PTE_WRITABLE), pvh_pml4
	movl $(pvh_pd + PTE_PRESENT + PTE_WRITABLE), %eax
	movl $pvh_pdpt, %edi
	movl $4, %ecx
1:	movl %eax, (%edi)
	addl $0x1000, %eax
	addl $8, %edi
	loop 1b
	movl $pvh_pd, %edi
	movl $(PTE_PRESENT + PTE_WRITABLE + PTE_LARGE), %eax
	movl $2048, %ecx
2:	movl %eax, (%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 2b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pvh_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	lgdt guest_gdt_descriptor
	movl %cr0, %eax
	orl $(CR0_PG + CR0_PE), %eax
	movl %eax, %cr0
	ljmp $GDT_CODE64, $common64

	.code64
common64:
	leaq boot_stack_top(%rip), %rsp
	/* Our own GDT, so exception frames and the AP trampoline never depend on the
	 * loader's table. */
	lgdt guest_gdt_descriptor(%rip)
	movl $GDT_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	pushq $GDT_CODE64
	leaq 3f(%rip), %rax
	pushq %rax
	lretq
3:	xorl %ebp, %ebp
	call guest_runtime_init
	call guest_main
	call guest_reset

	.section .data
	.p2align 3
	.globl boot_zero_page, boot_pvh_start_info, guest_gdt, guest_gdt_end
	/* In .data, not .bss: written before (pvh) or right after (64-bit) zeroing .bss. */
boot_zero_page:
	.quad 0
boot_pvh_start_info:
	.quad 0
guest_gdt:
	.quad 0
	.quad 0x00cf9b000000ffff        /* GDT_CODE32: flat 4 GiB, 32-bit, accessed */
	.quad 0x00af9b000000ffff        /* GDT_CODE64: long mode */
	.quad 0x00cf93000000ffff        /* GDT_DATA: flat 4 GiB, writable, accessed */
guest_gdt_end:
	.if guest_gdt_end - guest_gdt - 1 - GDT_LIMIT
	.error "GDT_LIMIT does not match guest_gdt"
	.endif
	.p2align 3
	.globl guest_gdt_descriptor
guest_gdt_descriptor:
	.word GDT_LIMIT
	.quad guest_gdt

	.section .bss
	.p2align 12
pvh_pml4:
	.skip 0x1000
pvh_pdpt:
	.skip 0x1000
pvh_pd:
	.skip 0x4000
	.p2align 4
boot_stack:
	.skip BOOT_STACK_SIZE
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
