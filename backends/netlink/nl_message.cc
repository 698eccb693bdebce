#include "backends/netlink/nl_message.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>

namespace fwc::netlink {

namespace {

// libnftnl numbers the nests of the elements it builds 1, 2, 3...; the
// kernel does not mind, but libnftnl's own parser wants each to be
// NFTA_LIST_ELEM. Renumbered, the messages parse back (snapshots, tests).
void RenumberElementNests(nlmsghdr* nlh) {
  char* end = reinterpret_cast<char*>(nlh) + nlh->nlmsg_len;
  auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
  for (; mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<char*>(attr))); attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS) continue;
    char* nest_end = reinterpret_cast<char*>(attr) + attr->nla_len;
    auto* elem = static_cast<nlattr*>(mnl_attr_get_payload(attr));
    for (; mnl_attr_ok(elem, static_cast<int>(nest_end - reinterpret_cast<char*>(elem))); elem = mnl_attr_next(elem))
      elem->nla_type = static_cast<uint16_t>((elem->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM);
  }
}

}  // namespace

std::vector<std::string> ElementMessages(MessageWriter& w, const nftnl_set* s, uint16_t family, uint16_t flags,
                                         uint16_t type) {
  static_assert(NFT_MSG_NEWSETELEM == 12, "the default of ElementMessages' type");
  std::vector<std::string> out;
  bool any = false;
  nftnl_set_elem_foreach(const_cast<nftnl_set*>(s), [](nftnl_set_elem*, void* data) {
    *static_cast<bool*>(data) = true;
    return 1;  // stop at the first
  }, &any);
  if (!any) return out;
  nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(s);
  if (!it) throw std::bad_alloc();
  for (;;) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), type, family, flags, 0);
    int more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it);
    RenumberElementNests(nlh);
    out.push_back(w.Take(nlh));
    if (more <= 0) break;
  }
  nftnl_set_elems_iter_destroy(it);
  return out;
}

void Batch::Add(std::string message, std::string origin) {
  offsets_.push_back(body_.size());
  body_ += message;
  body_.append(MNL_ALIGN(message.size()) - message.size(), '\0');
  origins_.push_back(std::move(origin));
}

std::string Batch::message(size_t i) const {
  nlmsghdr h;
  std::memcpy(&h, body_.data() + offsets_[i], sizeof h);
  return body_.substr(offsets_[i], h.nlmsg_len);
}

uint16_t Batch::type(size_t i) const {
  nlmsghdr h;
  std::memcpy(&h, body_.data() + offsets_[i], sizeof h);
  return h.nlmsg_type;
}

namespace {

void PutControl(std::string& out, uint16_t type, uint32_t seq, uint32_t genid) {
  char buf[64] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
  if (genid) mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
  out.append(buf, nlh->nlmsg_len);
}

}  // namespace

std::string Batch::Frame(uint32_t first_seq, uint32_t genid, bool commit) const {
  std::string out;
  out.reserve(body_.size() + 64);
  PutControl(out, NFNL_MSG_BATCH_BEGIN, first_seq, genid);
  size_t base = out.size();
  out += body_;
  for (size_t i = 0; i < offsets_.size(); ++i) {
    uint32_t seq = first_seq + 1 + static_cast<uint32_t>(i);
    std::memcpy(out.data() + base + offsets_[i] + offsetof(nlmsghdr, nlmsg_seq), &seq, sizeof seq);
  }
  if (commit) PutControl(out, NFNL_MSG_BATCH_END, first_seq + 1 + static_cast<uint32_t>(offsets_.size()), 0);
  return out;
}

std::string ErrorText(int error) {
  if (error == 85) return "the ruleset changed while fwc was preparing its batch (ERESTART)";
  return std::strerror(error);
}

}  // namespace fwc::netlink
