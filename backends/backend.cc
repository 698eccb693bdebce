#include "backends/backend.h"

#include "backends/iptables/iptables_backend.h"
#include "backends/nft/nft_backend.h"

namespace fwc {

std::unique_ptr<Backend> MakeBackend(const std::string& name) {
  if (name == "nft") return std::make_unique<NftBackend>();
  if (name == "iptables") return std::make_unique<IptablesBackend>();
  return nullptr;
}

std::vector<std::string> BackendNames() { return {"nft", "iptables"}; }

std::string KernelComment(const std::string& s, size_t max_bytes) {
  // Neither target escapes reliably inside a quoted comment, and the
  // iptables output is a shell script: keep only plain printable text.
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"') out += '\'';
    else if (c == '\\') out += '/';
    else if (u < 0x20 || u == 0x7f) out += ' ';
    else out += c;
  }
  if (out.size() <= max_bytes) return out;
  size_t cut = max_bytes;
  // Back up to the start of a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) >> 6) == 2) --cut;
  return out.substr(0, cut);
}

}  // namespace fwc
