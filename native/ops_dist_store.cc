// The rendezvous store: rank 0 hosts a c10d TCPStore that every rank connects to. Process groups are
// built over it (ops_dist_group.cc), and the distStore* ops give JS a small shared key/value space on it.
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <c10/util/hash.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "dist.h"

namespace flm {

// ---- who may talk to the store ----
//
// libtorch 1.13's TCPStore server listens on every interface (Socket::listen(port): the wildcard
// address) and has no option to choose the address or to authenticate a client: anyone who can reach
// the port can read and write every key, including the addresses Gloo's ranks exchange to connect.
//
// Loopback master (single-host runs, `flm launch --nproc N`): rank 0 attaches a kernel socket filter
// (SO_ATTACH_FILTER) to the store's listening socket that drops every packet whose source address is
// not loopback (127.0.0.0/8, ::1), which is what binding to 127.0.0.1 would have given: a SYN from
// another address of the host or from the network never reaches the server, and the connections it
// accepts inherit the filter. The store is built without waiting for workers, the filter is attached,
// any connection accepted from a non-loopback peer in that window is shut down, and only then does
// rank 0 wait for the workers.
//
// Other masters (multi-host): the store cannot be made private by this process, so every rank must
// present a shared secret (FLM_STORE_TOKEN / --store-token) before the process group is built; see
// Authenticate below and docs/distributed.md for what this does and does not protect.

static bool IsLoopbackAddr(const std::string& a) {
  return a == "localhost" || a == "::1" || a == "[::1]" || a.rfind("127.", 0) == 0 || a.rfind("::ffff:127.", 0) == 0;
}

// Classic BPF: accept a packet only if its IPv4 source is 127.0.0.0/8 or its IPv6 source is ::1.
static void AttachLoopbackOnlyFilter(int fd) {
  static sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, static_cast<__u32>(SKF_AD_OFF + SKF_AD_PROTOCOL)),  // 0: A = skb->protocol
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 3),                    // 1: IPv4 ? 2 : 5
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<__u32>(SKF_NET_OFF + 12)),                // 2: first byte of the source
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 127, 10, 11),                     // 3: 127 ? accept : drop
      BPF_STMT(BPF_RET | BPF_K, 0),                                         // 4: (unused)
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x86DD, 0, 9),                    // 5: IPv6 ? 6 : drop
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<__u32>(SKF_NET_OFF + 8)),                 // 6: source ::1 =
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 7),                         // 7:   0:0:0:0:0:0:0:1
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<__u32>(SKF_NET_OFF + 12)),                // 8
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 5),                         // 9
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<__u32>(SKF_NET_OFF + 16)),                // 10
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),                         // 11
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<__u32>(SKF_NET_OFF + 20)),                // 12
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),                         // 13
      BPF_STMT(BPF_RET | BPF_K, 0xFFFFFFFF),                                // 14: accept
      BPF_STMT(BPF_RET | BPF_K, 0),                                         // 15: drop
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0)
    throw std::runtime_error(std::string("cannot restrict the store to loopback clients (SO_ATTACH_FILTER): ") +
                             std::strerror(errno));
}

static int LocalPort(int fd, sockaddr_storage* peer, bool* hasPeer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  int port = -1;
  if (ss.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  else if (ss.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  socklen_t plen = sizeof *peer;
  *hasPeer = getpeername(fd, reinterpret_cast<sockaddr*>(peer), &plen) == 0;
  return port;
}

static bool PeerIsLoopback(const sockaddr_storage& p) {
  if (p.ss_family == AF_INET) return (ntohl(reinterpret_cast<const sockaddr_in*>(&p)->sin_addr.s_addr) >> 24) == 127;
  if (p.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6*>(&p)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

// Rank 0, loopback master: filter the store's listening socket(s) on `port` (found among this process's
// file descriptors), and shut down any connection already accepted from a non-loopback peer.
static void RestrictStoreToLoopback(int port) {
  int listeners = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) throw std::runtime_error("cannot restrict the store to loopback clients: /proc/self/fd is not readable");
  std::vector<int> fds;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    fds.push_back(std::atoi(e->d_name));
  }
  closedir(d);
  for (int fd : fds) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) continue;  // not a socket
    sockaddr_storage peer{};
    bool hasPeer = false;
    if (LocalPort(fd, &peer, &hasPeer) != port) continue;
    if (listening) {
      AttachLoopbackOnlyFilter(fd);
      listeners++;
    } else if (hasPeer && !PeerIsLoopback(peer)) {
      shutdown(fd, SHUT_RDWR);  // accepted before the filter was in place: the server sees it close
    }
  }
  if (listeners == 0)
    throw std::runtime_error("cannot restrict the store to loopback clients: no listening socket on port " +
                             std::to_string(port));
}

// ---- the shared secret ----
static std::string HexToBytes(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

// HMAC-SHA1 (RFC 2104) with c10's SHA-1, hex. (SHA-1's collision weakness does not carry over to HMAC.)
static std::string Hmac(const std::string& key, const std::string& msg) {
  std::string k = key.size() > 64 ? HexToBytes(c10::sha1(key).str()) : key;
  k.resize(64, '\0');
  std::string ipad(64, '\0'), opad(64, '\0');
  for (int i = 0; i < 64; i++) {
    ipad[i] = static_cast<char>(k[i] ^ 0x36);
    opad[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  std::string inner = HexToBytes(c10::sha1(ipad + msg).str());
  return c10::sha1(opad + inner).str();
}

static std::string Nonce() {
  std::random_device rd;
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; i++) out.push_back(hex[rd() & 15]);
  return out;
}

static bool SameMac(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); i++) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

static std::string GetStr(c10d::Store& s, const std::string& k) {
  auto v = s.get(k);
  return std::string(v.begin(), v.end());
}
static void SetStr(c10d::Store& s, const std::string& k, const std::string& v) {
  s.set(k, std::vector<uint8_t>(v.begin(), v.end()));
}

// Mutual proof of the token before anything else is read from the store: rank 0 publishes a fresh
// nonce; each rank r publishes its own nonce and HMAC(token, "rank|r|n0|nr"); rank 0 checks every
// rank's MAC and answers with HMAC(token, "store|r|n0|nr"), which rank r checks. A process without
// the token cannot take a rank's place (rank 0 fails the run), and a rank never builds its process
// group over a store run by someone without the token (an impostor listening on the master port first).
static void Authenticate(c10d::Store& s, const std::string& token, int rank, int size) {
  const std::string base = "flm_auth/";
  if (rank == 0) {
    std::string n0 = Nonce();
    SetStr(s, base + "n0", n0);
    for (int r = 1; r < size; r++) {
      std::string rs = std::to_string(r);
      s.wait({base + "mac" + rs});
      std::string nr = GetStr(s, base + "n" + rs);
      if (!SameMac(GetStr(s, base + "mac" + rs), Hmac(token, "rank|" + rs + "|" + n0 + "|" + nr)))
        throw std::runtime_error("rank " + rs + " did not present the store token (FLM_STORE_TOKEN / --store-token) of rank 0: "
                                 "a process without the shared secret joined the rendezvous, or the ranks were given different tokens");
      SetStr(s, base + "ok" + rs, Hmac(token, "store|" + rs + "|" + n0 + "|" + nr));
    }
  } else {
    std::string rs = std::to_string(rank);
    s.wait({base + "n0"});
    std::string n0 = GetStr(s, base + "n0");
    std::string nr = Nonce();
    SetStr(s, base + "n" + rs, nr);
    SetStr(s, base + "mac" + rs, Hmac(token, "rank|" + rs + "|" + n0 + "|" + nr));
    s.wait({base + "ok" + rs});
    if (!SameMac(GetStr(s, base + "ok" + rs), Hmac(token, "store|" + rs + "|" + n0 + "|" + nr)))
      throw std::runtime_error("the store at the master address did not prove the store token (FLM_STORE_TOKEN / --store-token): "
                               "it is not run by rank 0 of this job, or the ranks were given different tokens");
  }
}

// Rank 0 waits for every rank to join, bounded by the timeout.
c10::intrusive_ptr<c10d::Store> Rendezvous(const std::string& addr, int64_t port, int rank, int size, milliseconds timeout,
                                           const std::string& token) {
  bool loopback = IsLoopbackAddr(addr);
  if (!loopback && token.empty() && size > 1)
    throw std::invalid_argument(
        "the master address " + addr + " is not a loopback address: every rank must be given the same store token "
        "(FLM_STORE_TOKEN or --store-token), since anyone who can reach port " + std::to_string(port) +
        " could otherwise read and write the rendezvous store");
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = static_cast<size_t>(size);
  so.waitWorkers = false;  // rank 0 restricts the listening socket first; every rank then waits (below)
  so.timeout = timeout;
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(addr, so);
    if (rank == 0 && loopback) RestrictStoreToLoopback(static_cast<int>(port));
    store->waitForWorkers();  // what waitWorkers = true does in the constructor: every rank counts itself in
    if (!token.empty()) Authenticate(*store, token, rank, size);
    return store;
  } catch (const std::exception& e) {
    throw std::runtime_error("rendezvous at " + addr + ":" + std::to_string(port) + " failed on rank " +
                             std::to_string(rank) + " of " + std::to_string(size) + " (timeout " +
                             std::to_string(timeout.count()) + " ms): " + FirstLine(Msg(e)));
  }
}

// distStoreSet(group, key, value) / distStoreGet(group, key) -> string / distStoreAdd(group, key, n) -> number
FLM_FN(DistStoreSet) {
  FLM_OP("distStoreSet")
  auto g = GroupArg(info, 0);
  std::string k = ArgString(info, 1, kOp), v = ArgString(info, 2, kOp);
  if (!g->store) throw std::runtime_error("the process group was destroyed");
  g->store->set("flm_user/" + k, std::vector<uint8_t>(v.begin(), v.end()));
  return info.Env().Undefined();
  FLM_END
}

FLM_FN(DistStoreGet) {
  FLM_OP("distStoreGet")
  auto g = GroupArg(info, 0);
  std::string k = ArgString(info, 1, kOp);
  if (!g->store) throw std::runtime_error("the process group was destroyed");
  auto v = g->store->get("flm_user/" + k);
  return Napi::String::New(info.Env(), std::string(v.begin(), v.end()));
  FLM_END
}

FLM_FN(DistStoreAdd) {
  FLM_OP("distStoreAdd")
  auto g = GroupArg(info, 0);
  std::string k = ArgString(info, 1, kOp);
  int64_t n = ArgInt(info, 2, kOp);
  if (!g->store) throw std::runtime_error("the process group was destroyed");
  return Napi::Number::New(info.Env(), static_cast<double>(g->store->add("flm_user/" + k, n)));
  FLM_END
}

}  // namespace flm
