# poolwatch's start-up hook for Perl programs.
#
# `poolwatch run` sets PERL5OPT="-I<dir> -MPoolwatch", <dir> being
# poolwatch/perl beside libpoolwatch.so, so perl loads this module before
# the program. It takes the census once the program's own code has
# finished and tracks DBI's connect_cached as a pool (Poolwatch::DBI).
# Without libpoolwatch.so in the process it loads nothing and does
# nothing, and it never changes how the program runs or exits.
package Poolwatch;

use strict;
use warnings;

our $VERSION = '1';
our $active = 0;

if (($ENV{LD_PRELOAD} // '') =~ /poolwatch/) {
  local $@;
  $active = eval {
    require XSLoader;
    XSLoader::load('Poolwatch');
    Poolwatch::API::available();
  } || 0;
  if ($active) {
    # Stacks start at the program's own calls, not in this module's
    # directory (Poolwatch.pm, Poolwatch/), named as perl names its files.
    (my $directory = $INC{'Poolwatch.pm'} // '') =~ s{Poolwatch\.pm\z}{};
    Poolwatch::API::source_hide($directory) if length $directory;
    eval { require Poolwatch::DBI; Poolwatch::DBI::install(); 1 };
  }
}

# END blocks run last defined first: this one, compiled before the
# program, runs after all of the program's own, and before global
# destruction, whose DESTROY methods close what the program left open
# (DBI disconnects every handle still alive, and a report written after
# them would say "no leaks").
END {
  if ($active) {
    local ($@, $!, $?);
    eval { Poolwatch::API::census(); 1 };
  }
}

1;
