#include "audit/nmap_scanner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <expat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <future>
#include <set>
#include <stdexcept>

extern char** environ;

namespace fwc::audit {
namespace {

// One XML tag: its name ("/host" for an end tag) and attributes.
struct Tag {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string Attr(const std::string& k) const {
    auto it = attrs.find(k);
    return it == attrs.end() ? "" : it->second;
  }
};

// The elements of an XML document in order, an end tag as "/name"; text is
// skipped (nmap's XML holds everything in attributes). nullopt with *error
// when expat rejects it.
std::optional<std::vector<Tag>> Tags(const std::string& xml, std::string* error) {
  struct Reader {
    std::vector<Tag> tags;
    static void XMLCALL Start(void* ud, const XML_Char* name, const XML_Char** atts) {
      Tag t;
      t.name = name;
      for (int i = 0; atts[i] && atts[i + 1]; i += 2) t.attrs[atts[i]] = atts[i + 1];
      static_cast<Reader*>(ud)->tags.push_back(std::move(t));
    }
    static void XMLCALL End(void* ud, const XML_Char* name) {
      static_cast<Reader*>(ud)->tags.push_back({std::string("/") + name, {}});
    }
  } reader;
  XML_Parser p = XML_ParserCreate(nullptr);
  if (!p) {
    *error = "out of memory";
    return std::nullopt;
  }
  XML_SetUserData(p, &reader);
  XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
  XML_SetElementHandler(p, &Reader::Start, &Reader::End);
  bool ok = xml.size() < static_cast<size_t>(INT_MAX) &&
            XML_Parse(p, xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_OK;
  if (!ok)
    *error = "nmap's XML output does not parse: " + std::string(XML_ErrorString(XML_GetErrorCode(p))) +
             " at line " + std::to_string(XML_GetCurrentLineNumber(p));
  XML_ParserFree(p);
  if (!ok) return std::nullopt;
  return std::move(reader.tags);
}

// "1-40,79,83" → the ports.
bool PortList(const std::string& s, std::vector<unsigned>* out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t comma = s.find(',', i);
    std::string item = s.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
    size_t dash = item.find('-');
    try {
      unsigned long lo = std::stoul(item.substr(0, dash));
      unsigned long hi = dash == std::string::npos ? lo : std::stoul(item.substr(dash + 1));
      if (lo > 65535 || hi > 65535 || lo > hi) return false;
      for (unsigned long p = lo; p <= hi; ++p) out->push_back(static_cast<unsigned>(p));
    } catch (const std::exception&) {
      return false;
    }
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return true;
}

std::string PortSpec(const std::set<unsigned>& ports) {
  std::string out;
  for (unsigned p : ports) out += (out.empty() ? "" : ",") + std::to_string(p);
  return out;
}

// Runs nmap and returns what it wrote to standard output; throws with its
// standard error when it fails.
std::string RunNmap(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]), close(out[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]), close(err[0]);
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc) +
                             " (fwc audit sends its probes with nmap: apt-get install nmap)");
  }
  std::string stdout_text, stderr_text;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? stdout_text : stderr_text).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.pop_back();
    throw std::runtime_error(argv[0] + " failed" + (stderr_text.empty() ? "" : ": " + stderr_text));
  }
  return stdout_text;
}

}  // namespace

Seen SeenFromNmap(const std::string& state, const std::string& reason) {
  if (state == "open" || state == "up") {
    if (reason == "port-unreach") return Seen::kPortUnreach;
    if (state == "up" && reason != "echo-reply") {
      if (reason == "host-unreach" || reason == "net-unreach") return Seen::kNoHost;
      return Seen::kProhibited;
    }
    return Seen::kOpen;
  }
  if (reason == "reset") return Seen::kReset;
  if (reason == "port-unreach") return Seen::kPortUnreach;
  if (reason == "no-response") return Seen::kSilent;
  if (reason == "host-unreach" || reason == "net-unreach") return Seen::kNoHost;
  if (state == "closed") return Seen::kReset;
  return Seen::kProhibited;
}

std::optional<NmapResult> ParseNmapXml(const std::string& xml, std::string* error) {
  auto parsed = Tags(xml, error);
  if (!parsed) return std::nullopt;
  const std::vector<Tag>& tags = *parsed;
  if (std::none_of(tags.begin(), tags.end(), [](const Tag& t) { return t.name == "nmaprun"; })) {
    *error = "not nmap's XML output (no <nmaprun>)";
    return std::nullopt;
  }
  NmapResult r;
  bool in_host = false, have_addr = false;
  U128 addr = 0;
  std::string host_state, host_reason, extra_state;
  unsigned port = 0;
  bool in_port = false;
  for (const Tag& t : tags) {
    if (t.name == "host") {
      in_host = true;
      have_addr = false;
      host_state.clear();
      host_reason.clear();
    } else if (t.name == "/host") {
      if (in_host && have_addr && host_state == "up") r.hosts[addr] = {SeenFromNmap("up", host_reason), host_reason};
      in_host = false;
    } else if (!in_host) {
      continue;
    } else if (t.name == "status") {
      host_state = t.Attr("state");
      host_reason = t.Attr("reason");
    } else if (t.name == "address") {
      std::string type = t.Attr("addrtype");
      if (type != "ipv4" && type != "ipv6") continue;
      std::string err;
      auto a = ParseAddress(t.Attr("addr"), &err);
      if (!a) {
        *error = "nmap reported an address fwc cannot read: '" + t.Attr("addr") + "'";
        return std::nullopt;
      }
      addr = a->addr;
      have_addr = true;
    } else if (t.name == "extraports") {
      extra_state = t.Attr("state");
    } else if (t.name == "extrareasons") {
      std::vector<unsigned> ports;
      if (!PortList(t.Attr("ports"), &ports)) {
        *error = "nmap reported ports fwc cannot read: '" + t.Attr("ports") + "'";
        return std::nullopt;
      }
      for (unsigned p : ports) r.ports[{addr, p}] = {SeenFromNmap(extra_state, t.Attr("reason")), t.Attr("reason")};
    } else if (t.name == "port") {
      in_port = true;
      port = static_cast<unsigned>(std::strtoul(t.Attr("portid").c_str(), nullptr, 10));
    } else if (t.name == "/port") {
      in_port = false;
    } else if (t.name == "state" && in_port) {
      r.ports[{addr, port}] = {SeenFromNmap(t.Attr("state"), t.Attr("reason")), t.Attr("reason")};
    }
  }
  return r;
}

std::vector<Observation> NmapScanner::Scan(const std::vector<Probe>& probes) {
  // One nmap run per family and kind, all at once: a run spends most of its
  // time waiting for the answers dropped probes never get.
  struct RunOf {
    Family family;
    ProbeKind kind;
    std::vector<std::string> argv;
    std::future<std::string> xml;
  };
  std::vector<RunOf> runs;
  for (Family f : {Family::kV4, Family::kV6}) {
    for (ProbeKind k : {ProbeKind::kPing, ProbeKind::kTcp, ProbeKind::kUdp}) {
      std::set<U128> targets;
      std::set<unsigned> ports;
      unsigned sport = 0;
      for (const auto& p : probes)
        if (p.family == f && p.kind == k) targets.insert(p.dst), ports.insert(p.port), sport = p.sport;
      if (targets.empty()) continue;
      // Numeric, two retries (an accepted probe lost once must not read
      // as dropped), and the reason for every state.
      std::vector<std::string> argv = {nmap_, "-n", "--reason", "-T4", "--max-retries", "2", "-oX", "-"};
      if (f == Family::kV6) argv.push_back("-6");
      if (k == ProbeKind::kPing) {
        // ICMP echo only: ARP or neighbour discovery would answer for a
        // host on this network whatever the firewall does.
        for (const char* a : {"-sn", "-PE", "--disable-arp-ping"}) argv.push_back(a);
      } else {
        for (const char* a : {"-Pn", k == ProbeKind::kTcp ? "-sS" : "-sU", "-g"}) argv.push_back(a);
        argv.push_back(std::to_string(sport));  // one per plan
        argv.push_back("-p");
        argv.push_back((k == ProbeKind::kTcp ? "T:" : "U:") + PortSpec(ports));
      }
      for (U128 t : targets) argv.push_back(FormatAddress(f, t));
      if (log_) {
        std::string line;
        for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
        log_->push_back(line);
      }
      runs.push_back({f, k, argv, {}});
    }
  }
  for (auto& r : runs) r.xml = std::async(std::launch::async, [argv = r.argv] { return RunNmap(argv); });
  // Every run is waited for, even after one failed, before anything throws.
  std::vector<std::string> outputs(runs.size());
  std::string failure;
  for (size_t i = 0; i < runs.size(); ++i) {
    try {
      outputs[i] = runs[i].xml.get();
    } catch (const std::exception& e) {
      if (failure.empty()) failure = e.what();
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);

  std::vector<Observation> out(probes.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    std::string error;
    auto result = ParseNmapXml(outputs[r], &error);
    if (!result) throw std::runtime_error(error);
    for (size_t i = 0; i < probes.size(); ++i) {
      const Probe& p = probes[i];
      if (p.family != runs[r].family || p.kind != runs[r].kind) continue;
      if (p.kind == ProbeKind::kPing) {
        auto h = result->hosts.find(p.dst);
        out[i] = h == result->hosts.end() ? Observation{Seen::kSilent, "no-response"} : h->second;
      } else if (auto it = result->ports.find({p.dst, p.port}); it != result->ports.end()) {
        out[i] = it->second;
      }
    }
  }
  return out;
}

std::optional<U128> KernelSourceAddress(Family f, U128 dst) {
  int fd = socket(f == Family::kV4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (f == Family::kV4) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(9);
    a->sin_addr.s_addr = htonl(static_cast<uint32_t>(dst));
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(9);
    for (int i = 0; i < 16; ++i) a->sin6_addr.s6_addr[i] = static_cast<uint8_t>(dst >> (8 * (15 - i)));
    len = sizeof *a;
  }
  // connect() on a datagram socket sends nothing: it only picks the route.
  std::optional<U128> result;
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) == 0) {
      if (f == Family::kV4) {
        result = ntohl(reinterpret_cast<sockaddr_in*>(&local)->sin_addr.s_addr);
      } else {
        U128 v = 0;
        for (int i = 0; i < 16; ++i) v = (v << 8) | reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr.s6_addr[i];
        result = v;
      }
    }
  }
  close(fd);
  return result;
}

}  // namespace fwc::audit
