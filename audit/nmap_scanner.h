// Sending an audit's probes: the Scanner interface, and NmapScanner, which
// sends them with nmap from this machine (a SYN scan for TCP, a UDP scan,
// an ICMP echo for ping; one nmap run per family and kind) and reads back
// nmap's XML. Tests use a fake Scanner, or feed ParseNmapXml a recording.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "audit/audit.h"

namespace fwc::audit {

class Scanner {
 public:
  virtual ~Scanner() = default;
  // What came back for each probe, in order. Throws std::runtime_error
  // when the probes cannot be sent.
  virtual std::vector<Observation> Scan(const std::vector<Probe>& probes) = 0;
};

// What one nmap run reported: per (address, port) for a port scan, per
// address for a ping scan (a host nmap does not list did not answer).
struct NmapResult {
  std::map<std::tuple<U128, unsigned>, Observation> ports;  // (address, port)
  std::map<U128, Observation> hosts;                        // ping scan: the hosts that answered
};

// Reads the XML nmap writes with -oX (ports listed one by one, and those
// nmap folds into <extraports> with their reasons). Returns nullopt with
// *error on XML that is not nmap's.
std::optional<NmapResult> ParseNmapXml(const std::string& xml, std::string* error);

// nmap's state and reason → what fwc audit makes of them.
Seen SeenFromNmap(const std::string& state, const std::string& reason);

class NmapScanner : public Scanner {
 public:
  // nmap: the program to run. log: each command line is appended to it.
  explicit NmapScanner(std::string nmap = "nmap", std::vector<std::string>* log = nullptr)
      : nmap_(std::move(nmap)), log_(log) {}
  std::vector<Observation> Scan(const std::vector<Probe>& probes) override;

 private:
  std::string nmap_;
  std::vector<std::string>* log_;
};

// The address this machine sends from to reach dst, as the kernel's routes
// choose it (nullopt: no route).
std::optional<U128> KernelSourceAddress(Family f, U128 dst);

}  // namespace fwc::audit
