# Picky warnings for every verdict target (STYLE.md R9; modelled on curl's PickyWarnings).
# vd_apply_warnings(<target>) adds them; VD_WERROR turns them into errors (CI sets it).
include(CheckCCompilerFlag)

set(VD_WARNING_FLAGS
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion # too noisy with size_t/int mixes in OpenSSL's API; -Wconversion still catches truncation
    -Wformat=2 -Wvla -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations
    -Wold-style-definition -Wcast-qual -Wcast-align -Wundef -Wwrite-strings -Wpointer-arith
    -Wdouble-promotion -Wimplicit-fallthrough
    -Werror=implicit-function-declaration -Werror=incompatible-pointer-types
    -Werror=deprecated-declarations)
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    list(APPEND VD_WARNING_FLAGS -Wshorten-64-to-32 -Wconditional-uninitialized
         -Wmissing-variable-declarations)
endif()

function(vd_apply_warnings target)
    if(VD_PICKY_WARNINGS)
        target_compile_options(${target} PRIVATE ${VD_WARNING_FLAGS})
        if(VD_WERROR)
            target_compile_options(${target} PRIVATE -Werror)
        endif()
    endif()
endfunction()
