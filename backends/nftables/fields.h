// What a rule can match on, as nftables knows it: one declarative row per
// field (as nftables' own src/proto.c and src/meta.c templates), read by
// both the text printer (backends/nft/) and the netlink linearizer
// (backends/netlink/), so that the two cannot disagree on a field's name,
// type, place in the packet or protocol dependency.
#pragma once

#include <cstdint>

namespace fwc::nftables {

enum class Field : uint8_t {
  kNfproto,
  kL4proto,
  kIifname,
  kOifname,
  kIpSaddr,
  kIpDaddr,
  kIp6Saddr,
  kIp6Daddr,
  kTcpSport,
  kTcpDport,
  kUdpSport,
  kUdpDport,
  kThSport,  // a port of whichever transport protocol (after meta l4proto)
  kThDport,
  kIcmpType,
  kIcmpCode,
  kIcmpv6Type,
  kIcmpv6Code,
  kMetaMark,             // the packet mark
  kCtMark,               // the connection mark
  kCtOriginalIpDaddr,    // the destination the client addressed, before DNAT
  kCtOriginalIp6Daddr,
  kCtOriginalProtoDst,   // its port (after meta l4proto)
};

// How values of the field are written in nft's syntax.
enum class ValueKind : uint8_t { kIfname, kNfproto, kProto, kIpv4, kIpv6, kPort, kIcmpType, kIcmpv6Type, kNumber, kMark };

// nft's byte orders (enum byteorder).
enum ByteOrder : uint32_t { kOrderInvalid = 0, kOrderHost = 1, kOrderBig = 2 };

struct FieldInfo {
  const char* text;       // the expression as nft writes it: "ip saddr"
  const char* type_name;  // a set key of this field: "ipv4_addr"; "" if none
  ValueKind values;
  // The kernel's view (the netlink linearizer):
  bool meta;              // a meta expression (meta_key), else a payload one
  uint32_t meta_key;      // NFT_META_*
  uint32_t base, offset;  // payload: NFT_PAYLOAD_* base and byte offset
  uint32_t len;           // value bytes
  uint32_t type;          // nft datatype (TYPE_*)
  uint32_t expr_order;    // byte order of the expression's value
  uint32_t type_order;    // byte order of the datatype
  uint32_t desc, tmpl;    // payload protocol description and its field (a set's typeof)
  int need_net;           // the NFPROTO_* the field implies, 0 if none
  int need_l4;            // the transport protocol it implies, -1 if none
  bool ct = false;        // a ct expression (ct_key), else meta or payload
  uint32_t ct_key = 0;    // NFT_CT_*
  bool ct_original = false;  // of the original direction (ct original ...)
};

const FieldInfo& Info(Field f);

}  // namespace fwc::nftables
