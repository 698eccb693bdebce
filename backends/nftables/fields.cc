#include "backends/nftables/fields.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

namespace fwc::nftables {
namespace {

// nft's datatypes (enum datatypes) and payload descriptions (enum
// proto_desc_id), as the kernel's set declarations and nft's set userdata
// carry them.
enum Datatype : uint32_t {
  kTypeIpaddr = 7,
  kTypeIp6addr = 8,
  kTypeInetProto = 12,
  kTypeInetService = 13,
  kTypeIcmpType = 14,
  kTypeIcmp6Type = 29,
  kTypeIcmpCode = 32,
  kTypeIcmpv6Code = 33,
  kTypeIfname = 41,
  kTypeMark = 19,
};
enum Desc : uint32_t { kDescIcmp = 4, kDescUdp = 6, kDescTcp = 8, kDescTh = 11, kDescIp = 12, kDescIp6 = 13, kDescIcmpv6 = 14 };

constexpr uint32_t kNet = NFT_PAYLOAD_NETWORK_HEADER, kTransport = NFT_PAYLOAD_TRANSPORT_HEADER;

constexpr FieldInfo Meta(const char* text, const char* type_name, ValueKind v, uint32_t key, uint32_t len,
                         uint32_t type, uint32_t type_order) {
  return {text, type_name, v, true, key, 0, 0, len, type, kOrderHost, type_order, 0, 0, 0, -1};
}

constexpr FieldInfo Payload(const char* text, const char* type_name, ValueKind v, uint32_t base, uint32_t offset,
                            uint32_t len, uint32_t type, uint32_t desc, uint32_t tmpl, int need_net, int need_l4) {
  return {text, type_name, v, false, 0, base, offset, len, type, kOrderBig, kOrderBig, desc, tmpl, need_net, need_l4};
}

constexpr FieldInfo Ct(const char* text, const char* type_name, ValueKind v, uint32_t key, bool original,
                       uint32_t len, uint32_t type, uint32_t order, int need_net) {
  FieldInfo f{text, type_name, v, false, 0, 0, 0, len, type, order, order, 0, 0, need_net, -1};
  f.ct = true;
  f.ct_key = key;
  f.ct_original = original;
  return f;
}

// In the order of enum class Field.
constexpr FieldInfo kFields[] = {
    Meta("meta nfproto", "", ValueKind::kNfproto, NFT_META_NFPROTO, 1, 0, kOrderHost),
    Meta("meta l4proto", "inet_proto", ValueKind::kProto, NFT_META_L4PROTO, 1, kTypeInetProto, kOrderInvalid),
    Meta("iifname", "ifname", ValueKind::kIfname, NFT_META_IIFNAME, 16, kTypeIfname, kOrderHost),
    Meta("oifname", "ifname", ValueKind::kIfname, NFT_META_OIFNAME, 16, kTypeIfname, kOrderHost),
    Payload("ip saddr", "ipv4_addr", ValueKind::kIpv4, kNet, 12, 4, kTypeIpaddr, kDescIp, 11, NFPROTO_IPV4, -1),
    Payload("ip daddr", "ipv4_addr", ValueKind::kIpv4, kNet, 16, 4, kTypeIpaddr, kDescIp, 12, NFPROTO_IPV4, -1),
    Payload("ip6 saddr", "ipv6_addr", ValueKind::kIpv6, kNet, 8, 16, kTypeIp6addr, kDescIp6, 8, NFPROTO_IPV6, -1),
    Payload("ip6 daddr", "ipv6_addr", ValueKind::kIpv6, kNet, 24, 16, kTypeIp6addr, kDescIp6, 9, NFPROTO_IPV6, -1),
    Payload("tcp sport", "inet_service", ValueKind::kPort, kTransport, 0, 2, kTypeInetService, kDescTcp, 1, 0, 6),
    Payload("tcp dport", "inet_service", ValueKind::kPort, kTransport, 2, 2, kTypeInetService, kDescTcp, 2, 0, 6),
    Payload("udp sport", "inet_service", ValueKind::kPort, kTransport, 0, 2, kTypeInetService, kDescUdp, 1, 0, 17),
    Payload("udp dport", "inet_service", ValueKind::kPort, kTransport, 2, 2, kTypeInetService, kDescUdp, 2, 0, 17),
    Payload("th sport", "inet_service", ValueKind::kPort, kTransport, 0, 2, kTypeInetService, kDescTh, 1, 0, -1),
    Payload("th dport", "inet_service", ValueKind::kPort, kTransport, 2, 2, kTypeInetService, kDescTh, 2, 0, -1),
    Payload("icmp type", "icmp_type", ValueKind::kIcmpType, kTransport, 0, 1, kTypeIcmpType, kDescIcmp, 1, NFPROTO_IPV4,
            1),
    Payload("icmp code", "icmp_code", ValueKind::kNumber, kTransport, 1, 1, kTypeIcmpCode, kDescIcmp, 2, NFPROTO_IPV4, 1),
    Payload("icmpv6 type", "icmpv6_type", ValueKind::kIcmpv6Type, kTransport, 0, 1, kTypeIcmp6Type, kDescIcmpv6, 1,
            NFPROTO_IPV6, 58),
    Payload("icmpv6 code", "icmpv6_code", ValueKind::kNumber, kTransport, 1, 1, kTypeIcmpv6Code, kDescIcmpv6, 2,
            NFPROTO_IPV6, 58),
    Meta("meta mark", "mark", ValueKind::kMark, NFT_META_MARK, 4, kTypeMark, kOrderHost),
    Ct("ct mark", "mark", ValueKind::kMark, NFT_CT_MARK, false, 4, kTypeMark, kOrderHost, 0),
    // nft adds no protocol dependency for these: conntrack knows the family.
    Ct("ct original ip daddr", "ipv4_addr", ValueKind::kIpv4, NFT_CT_DST_IP, true, 4, kTypeIpaddr, kOrderBig, 0),
    Ct("ct original ip6 daddr", "ipv6_addr", ValueKind::kIpv6, NFT_CT_DST_IP6, true, 16, kTypeIp6addr, kOrderBig, 0),
    Ct("ct original proto-dst", "inet_service", ValueKind::kPort, NFT_CT_PROTO_DST, true, 2, kTypeInetService,
       kOrderBig, 0),
};

}  // namespace

const FieldInfo& Info(Field f) { return kFields[static_cast<int>(f)]; }

}  // namespace fwc::nftables
