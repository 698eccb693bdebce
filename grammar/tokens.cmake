# Writes the token table of the policy language, from the vocabulary ANTLR
# derives from grammar/Fwc.g4 (Fwc.tokens), as a C++ header:
#   cmake -DTOKENS=Fwc.tokens -DOUT=fwc_tokens.h -P tokens.cmake
# The hand-written parser (compiler/syntax/) lexes with these token types,
# numbered as ANTLR numbers them, and names them in syntax errors with these
# words: a keyword, a punctuation mark or a lexer rule added to the grammar
# reaches it from here, and one the generator cannot name stops the build.
file(STRINGS "${TOKENS}" lines)

# The lexer rules: their C++ names, and their words in syntax errors
# ("expected an address").
set(rule_ADDR "Addr;an address")
set(rule_NUMBER "Number;a number")
set(rule_ID "Id;a name")
set(rule_STRING "String;a string")
set(rule_COMMENT "LineComment;a comment")
set(rule_WS "Space;a space")
set(rule_ANYCHAR "Other;a character")
# C++ names for the punctuation literals.
set(punct_59 "Semi")       # ;
set(punct_123 "LBrace")    # {
set(punct_125 "RBrace")    # }
set(punct_44 "Comma")      # ,
set(punct_45 "Dash")       # -
set(punct_47 "Slash")      # /

set(enum "")
set(keywords "")
set(words "")
set(max 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^'(.*)'=([0-9]+)$")
    set(text "${CMAKE_MATCH_1}")
    set(value "${CMAKE_MATCH_2}")
    if(text MATCHES "^[a-z][a-z0-9]*$")
      string(SUBSTRING "${text}" 0 1 first)
      string(SUBSTRING "${text}" 1 -1 rest)
      string(TOUPPER "${first}" first)
      set(name "k${first}${rest}")
      string(APPEND keywords "    {\"${text}\", Tok::${name}},\n")
    else()
      string(LENGTH "${text}" len)
      if(NOT len EQUAL 1)
        message(FATAL_ERROR "tokens.cmake: no C++ name for the literal '${text}'")
      endif()
      # The character's code, to look up its name.
      foreach(code RANGE 33 126)
        string(ASCII ${code} c)
        if(c STREQUAL text)
          set(found ${code})
        endif()
      endforeach()
      if(NOT DEFINED punct_${found})
        message(FATAL_ERROR "tokens.cmake: no C++ name for the literal '${text}'; add it to tokens.cmake")
      endif()
      set(name "k${punct_${found}}")
    endif()
    string(APPEND enum "  ${name} = ${value},\n")
    set(word_${value} "'${text}'")
  elseif(line MATCHES "^([A-Z][A-Z_]*)=([0-9]+)$")
    set(rule "${CMAKE_MATCH_1}")
    set(value "${CMAKE_MATCH_2}")
    if(NOT DEFINED rule_${rule})
      message(FATAL_ERROR "tokens.cmake: no words for the lexer rule ${rule}; add them to tokens.cmake")
    endif()
    list(GET rule_${rule} 0 name)
    list(GET rule_${rule} 1 word)
    string(APPEND enum "  k${name} = ${value},\n")
    set(word_${value} "${word}")
  else()
    continue()
  endif()
  if(value GREATER max)
    set(max ${value})
  endif()
endforeach()

set(table "    \"the end of the file\",\n")
foreach(v RANGE 1 ${max})
  if(NOT DEFINED word_${v})
    message(FATAL_ERROR "tokens.cmake: token ${v} has no name")
  endif()
  string(REPLACE "\"" "\\\"" w "${word_${v}}")
  string(APPEND table "    \"${w}\",\n")
endforeach()

file(WRITE "${OUT}.tmp" "// Generated from grammar/Fwc.g4 (ANTLR's Fwc.tokens) by grammar/tokens.cmake: do not edit.
#pragma once

#include <cstdint>
#include <string_view>

namespace fwc::syntax {

// The grammar's token types, numbered as ANTLR numbers them.
enum class Tok : uint8_t {
  kEof = 0,
${enum}};
constexpr int kTokenTypes = ${max} + 1;

struct Keyword {
  std::string_view text;
  Tok type;
};

// The keyword literals: reserved, they win over a name of the same text.
constexpr Keyword kKeywords[] = {
${keywords}};

// What each token type is called in a syntax error.
constexpr const char* kTokenWords[kTokenTypes] = {
${table}};

}  // namespace fwc::syntax
")
# Rewritten only when it changes, so that the parser is not rebuilt for nothing.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
