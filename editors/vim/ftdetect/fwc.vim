" fwc policy files (fwc.policy(5)).
autocmd BufRead,BufNewFile *.fw setfiletype fwc
