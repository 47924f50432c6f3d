/* /vsock_e2e of the end-to-end initramfs (scripts/fetch-linux-assets.sh links it static): the
 * guest's side of the vsock check of tests/linux/boot_linux_test.sh. It listens on vsock port
 * 1234, connects to the host (CID 2) port 5000 and sends 64 KiB whose byte i is (i * 7919) >> 3,
 * then accepts one connection on 1234 and echoes what it reads until EOF. The host compares the
 * bytes; this side only prints BULWARK-VSOCK lines with counts. Small on purpose: guest kernel
 * code may run in KVM's instruction emulator. alarm() bounds it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

enum { kBytes = 65536, kListenPort = 1234, kHostPort = 5000 };

static unsigned char buf[kBytes];

static int write_all(int fd, const unsigned char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static size_t send_pattern(void) {
  const int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
  struct sockaddr_vm host;
  memset(&host, 0, sizeof host);
  host.svm_family = AF_VSOCK;
  host.svm_cid = VMADDR_CID_HOST;
  host.svm_port = kHostPort;
  if (fd < 0 || connect(fd, (struct sockaddr*)&host, sizeof host) != 0) {
    printf("BULWARK-VSOCK fail connect to host port %d errno=%d\n", kHostPort, errno);
    return 0;
  }
  for (size_t i = 0; i < kBytes; ++i) buf[i] = (unsigned char)((i * 7919) >> 3);
  const size_t sent = write_all(fd, buf, kBytes) == 0 ? kBytes : 0;
  close(fd);
  return sent;
}

static size_t echo_one(int listener) {
  const int fd = accept(listener, NULL, NULL);
  if (fd < 0) {
    printf("BULWARK-VSOCK fail accept errno=%d\n", errno);
    return 0;
  }
  size_t echoed = 0;
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0 || write_all(fd, buf, (size_t)n) != 0) break;
    echoed += (size_t)n;
  }
  close(fd);
  return echoed;
}

int main(void) {
  alarm(600);
  const int listener = socket(AF_VSOCK, SOCK_STREAM, 0);
  struct sockaddr_vm any;
  memset(&any, 0, sizeof any);
  any.svm_family = AF_VSOCK;
  any.svm_cid = VMADDR_CID_ANY;
  any.svm_port = kListenPort;
  if (listener < 0 || bind(listener, (struct sockaddr*)&any, sizeof any) != 0 || listen(listener, 1) != 0) {
    printf("BULWARK-VSOCK fail listen errno=%d\n", errno);
    return 1;
  }
  printf("BULWARK-VSOCK listening\n");
  fflush(stdout);
  printf("BULWARK-VSOCK sent %zu\n", send_pattern());
  fflush(stdout);
  printf("BULWARK-VSOCK echoed %zu\n", echo_one(listener));
  fflush(stdout);
  return 0;
}
