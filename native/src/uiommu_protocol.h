/*
 * The messages between the shim and the uiommu daemon on a process's control connection
 * (AF_UNIX SOCK_SEQPACKET, little-endian, one message per packet). Mirrors
 * server/src/main/java/io/uiommu/server/Protocol.java.
 */
#ifndef UIOMMU_PROTOCOL_H
#define UIOMMU_PROTOCOL_H

#include <stdint.h>

/* shim -> daemon */
struct uiommu_request {
	uint32_t op;
	int32_t fd;
	uint64_t ino;
	uint64_t a[4];
};

/* daemon -> shim */
struct uiommu_reply {
	uint32_t kind;
	uint32_t flags;
	int64_t result;
	uint64_t aux;
	uint64_t aux2;
};

_Static_assert(sizeof(struct uiommu_request) == 48, "request layout");
_Static_assert(sizeof(struct uiommu_reply) == 32, "reply layout");

enum {
	UIOMMU_OP_OPEN = 1,	/* a0 = open flags, a1 = UIOMMU_DEVICE_*, a2 = N of vfioN; result = fd */
	UIOMMU_OP_IOCTL = 2,	/* fd, ino, a0 = request, a1 = arg, a2 = n: n bytes at arg follow
				   (<= 128, same page), a3 = count of mmap/munmap/mremap/mprotect calls */
	UIOMMU_OP_READ = 3,	/* fd, ino, a0 = buf, a1 = count, a2 = pos, a3 = 1 if pread;
				   reply aux = readiness tokens to drain from fd */
	UIOMMU_OP_WRITE = 4,
	UIOMMU_OP_CLOSE = 5,	/* fd (already closed), ino */
	UIOMMU_OP_LOOKUP = 6,	/* fd, ino: 1 if a uiommu file */
	UIOMMU_OP_UNMAP = 7,	/* a0 = addr, a1 = length: about to be unmapped */
	UIOMMU_OP_EXIT = 8,	/* the process is exiting */
	UIOMMU_OP_CALLBACK = 9,	/* answer to a callback: a0 = value */
	UIOMMU_OP_MMAP = 10,	/* fd, ino, a0 = length, a1 = prot, a2 = flags, a3 = offset;
				   result = the address (after a MAP_FD callback) or -errno */
};

enum { UIOMMU_DEVICE_IOMMU = 1, UIOMMU_DEVICE_VFIO = 2 /* /dev/vfio/devices/vfio<a2> */ };

enum {
	UIOMMU_DONE = 0,	/* result = return value or -errno */
	UIOMMU_INSTALL_FD = 1,	/* an fd rides along (SCM_RIGHTS); answer its number */
	UIOMMU_CLOSE_FD = 2,	/* close fd aux; answer 0 */
	UIOMMU_MAP_FD = 3,	/* a memfd rides along: map it as the pending mmap() asked;
				   answer the address or -errno */
};

#define UIOMMU_FLAG_CLOEXEC 1u

#endif
