"""A Python client of /dev/iommu (fcntl.ioctl on struct bytes), run under the uiommu shim."""
import ctypes
import errno
import fcntl
import mmap
import os
import struct

IOMMU_DESTROY = 0x3B80
IOMMU_IOAS_ALLOC = 0x3B81
IOMMU_IOAS_MAP = 0x3B85
IOMMU_IOAS_UNMAP = 0x3B86
MAP_WRITEABLE = 1 << 1
MAP_READABLE = 1 << 2

fd = os.open("/dev/iommu", os.O_RDWR)

alloc = bytearray(struct.pack("<III", 12, 0, 0))
assert fcntl.ioctl(fd, IOMMU_IOAS_ALLOC, alloc, True) == 0
ioas = struct.unpack_from("<I", alloc, 8)[0]
assert ioas > 0, ioas

buf = mmap.mmap(-1, 1 << 16)
va = ctypes.addressof(ctypes.c_char.from_buffer(buf))
m = bytearray(struct.pack("<IIIIQQQ", 40, MAP_READABLE | MAP_WRITEABLE, ioas, 0, va, 1 << 16, 0))
assert fcntl.ioctl(fd, IOMMU_IOAS_MAP, m, True) == 0
iova = struct.unpack_from("<Q", m, 32)[0]
assert iova != 0

u = bytearray(struct.pack("<IIQQ", 24, ioas, iova, 1 << 16))
assert fcntl.ioctl(fd, IOMMU_IOAS_UNMAP, u, True) == 0
try:
    fcntl.ioctl(fd, IOMMU_IOAS_UNMAP, u, True)
    raise AssertionError("second unmap succeeded")
except OSError as e:
    assert e.errno == errno.ENOENT, e

assert fcntl.ioctl(fd, IOMMU_DESTROY, bytearray(struct.pack("<II", 8, ioas)), True) == 0
os.close(fd)
print("ok")
