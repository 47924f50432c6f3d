/* The vsock Linux guest's helper (build_initramfs.sh links it static): the guest's side of
 * tests/devices/vsock_qemu_linux_test.cc. Listens on vsock port 1234, then:
 *   - connects to the host (CID 2) port 5001, where nobody listens: prints the errno;
 *   - connects to host port 5000 and sends 1 MiB of the test's pattern, printing its FNV-1a;
 *   - accepts the host's connection on 1234 and echoes everything back until EOF, printing
 *     the FNV-1a of what it received.
 * Every line the test reads starts with BULWARK-VSOCK. Bounded by alarm(). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define BYTES (1u << 20)

static uint64_t fnv(uint64_t h, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static int vsock_socket(void) { return socket(AF_VSOCK, SOCK_STREAM, 0); }

static int connect_host(unsigned port) {
  int fd = vsock_socket();
  struct sockaddr_vm a;
  memset(&a, 0, sizeof a);
  a.svm_family = AF_VSOCK;
  a.svm_cid = VMADDR_CID_HOST;
  a.svm_port = port;
  if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static unsigned char buf[65536];

int main(void) {
  alarm(120);
  int listener = vsock_socket();
  struct sockaddr_vm a;
  memset(&a, 0, sizeof a);
  a.svm_family = AF_VSOCK;
  a.svm_cid = VMADDR_CID_ANY;
  a.svm_port = 1234;
  if (listener < 0 || bind(listener, (struct sockaddr*)&a, sizeof a) != 0 || listen(listener, 8) != 0) {
    printf("BULWARK-VSOCK listen-failed errno=%d\n", errno);
    return 1;
  }
  printf("BULWARK-VSOCK listening\n");
  fflush(stdout);

  int refused = connect_host(5001);
  printf("BULWARK-VSOCK refused-port %s errno=%d\n", refused < 0 ? "failed" : "connected", refused < 0 ? errno : 0);
  if (refused >= 0) close(refused);

  int out = connect_host(5000);
  if (out < 0) {
    printf("BULWARK-VSOCK connect-5000-failed errno=%d\n", errno);
  } else {
    uint64_t x = 0x9e3779b97f4a7c15ull, h = 0xcbf29ce484222325ull;
    size_t sent = 0;
    while (sent < BYTES) {
      size_t n = 0;
      for (; n < sizeof buf && sent + n < BYTES; ++n) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[n] = (unsigned char)x;
      }
      h = fnv(h, buf, n);
      size_t off = 0;
      while (off < n) {
        ssize_t w = write(out, buf + off, n - off);
        if (w <= 0) break;
        off += (size_t)w;
      }
      if (off < n) break;
      sent += n;
    }
    close(out);
    printf("BULWARK-VSOCK sent %zu fnv=%016llx\n", sent, (unsigned long long)h);
  }
  fflush(stdout);

  int in = accept(listener, NULL, NULL);
  if (in < 0) {
    printf("BULWARK-VSOCK accept-failed errno=%d\n", errno);
    return 1;
  }
  uint64_t h = 0xcbf29ce484222325ull;
  size_t received = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0) break;
    h = fnv(h, buf, (size_t)n);
    received += (size_t)n;
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = write(in, buf + off, (size_t)(n - off));
      if (w <= 0) break;
      off += w;
    }
  }
  close(in);
  printf("BULWARK-VSOCK echoed %zu fnv=%016llx\n", received, (unsigned long long)h);
  printf("BULWARK-VSOCK done\n");
  fflush(stdout);
  return 0;
}
