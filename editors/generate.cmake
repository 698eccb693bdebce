# Writes the editor files (Vim syntax, TextMate grammar) from the keywords
# of the policy language, as ANTLR derives them from grammar/Fwc.g4:
#   cmake -DTOKENS=Fwc.tokens -DSRC=editors -DOUT=dir -P generate.cmake
# Every keyword of the grammar is highlighted: the lists below only choose
# the colour of some; a keyword they do not name is a plain keyword, and a
# name in them that the grammar no longer has stops the build.
cmake_policy(SET CMP0057 NEW)  # if(IN_LIST), in a script run with -P
set(declaration include firewall interface host network range group service set runtime mark helper
    policy default option nat marks)
set(action accept drop reject snat dnat masquerade redirect)
set(protocol tcp udp icmp icmpv6 proto)

file(STRINGS "${TOKENS}" lines)
set(keywords "")
foreach(line IN LISTS lines)
  if(line MATCHES "^'([a-z][a-z0-9]*)'=[0-9]+$")
    list(APPEND keywords "${CMAKE_MATCH_1}")
  endif()
endforeach()
set(other ${keywords})
foreach(kind declaration action protocol)
  foreach(word IN LISTS ${kind})
    if(NOT word IN_LIST keywords)
      message(FATAL_ERROR "editors/generate.cmake: '${word}' (${kind}) is not a keyword of the grammar")
    endif()
    list(REMOVE_ITEM other "${word}")
  endforeach()
endforeach()
# 'mark' declares a mark and is also a rule option: one colour is enough.

foreach(kind declaration action protocol other)
  string(REPLACE ";" " " VIM_${kind} "${${kind}}")
  string(REPLACE ";" "|" TM_${kind} "${${kind}}")
endforeach()
configure_file(${SRC}/vim/syntax/fwc.vim.in ${OUT}/vim/syntax/fwc.vim @ONLY)
configure_file(${SRC}/vim/ftdetect/fwc.vim ${OUT}/vim/ftdetect/fwc.vim COPYONLY)
configure_file(${SRC}/textmate/fwc.tmLanguage.json.in ${OUT}/textmate/fwc.tmLanguage.json @ONLY)
configure_file(${SRC}/textmate/package.json ${OUT}/textmate/package.json COPYONLY)
