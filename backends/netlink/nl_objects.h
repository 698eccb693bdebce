// Owning handles for libnftnl objects and the one exception type of the
// netlink backend. Everything else in backends/netlink/ builds on these.
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace fwc::netlink {

// A failure to talk to the kernel (socket, permission, protocol). Policy
// errors and kernel rejections of a batch are values, not exceptions.
class NetlinkError : public std::runtime_error {
 public:
  NetlinkError(const std::string& what, int error = 0) : std::runtime_error(what), error_(error) {}
  int error() const { return error_; }  // errno, 0 if none

 private:
  int error_;
};

struct TableFree { void operator()(nftnl_table* p) const { nftnl_table_free(p); } };
struct ChainFree { void operator()(nftnl_chain* p) const { nftnl_chain_free(p); } };
struct SetFree { void operator()(nftnl_set* p) const { nftnl_set_free(p); } };
struct RuleFree { void operator()(nftnl_rule* p) const { nftnl_rule_free(p); } };
struct ExprFree { void operator()(nftnl_expr* p) const { nftnl_expr_free(p); } };
struct ObjFree { void operator()(nftnl_obj* p) const { nftnl_obj_free(p); } };
struct FlowtableFree { void operator()(nftnl_flowtable* p) const { nftnl_flowtable_free(p); } };

using TablePtr = std::unique_ptr<nftnl_table, TableFree>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainFree>;
using SetPtr = std::unique_ptr<nftnl_set, SetFree>;
using RulePtr = std::unique_ptr<nftnl_rule, RuleFree>;
using ExprPtr = std::unique_ptr<nftnl_expr, ExprFree>;
using ObjPtr = std::unique_ptr<nftnl_obj, ObjFree>;
using FlowtablePtr = std::unique_ptr<nftnl_flowtable, FlowtableFree>;

// Allocation wrappers that never return null.
TablePtr NewTable();
ChainPtr NewChain();
SetPtr NewSet();
RulePtr NewRule();
ExprPtr NewExpr(const char* name);
ObjPtr NewObj();
FlowtablePtr NewFlowtable();

// The name of fwc's table; its family is NFPROTO_INET.
inline constexpr const char* kTableName = "fwc";

}  // namespace fwc::netlink
