# Perl programs for poolwatch's Perl support (PERL5OPT=-MPoolwatch): the
# census and DBI's connect_cached. Modes: leak (a handle kept to the end,
# which global destruction disconnects), closed_in_end (the program's own
# END block disconnects it), cached (connect_cached hands the same handle
# out three times, once with a transaction left open).
use strict;
use warnings;
use DBI;

our $kept;

sub leak_here {
  return DBI->connect("dbi:Pg:", "", "", {RaiseError => 1, PrintError => 0}); # pwtest:census
}

sub cached {
  return DBI->connect_cached("dbi:Pg:", "", "", {RaiseError => 1, AutoCommit => 0}); # pwtest:cached
}

END {
  $kept->disconnect if $kept && ($ARGV[0] // '') eq 'closed_in_end';
}

$| = 1;
my $mode = $ARGV[0];
if ($mode eq 'leak' || $mode eq 'closed_in_end') {
  $kept = leak_here();
} elsif ($mode eq 'cached') {
  my $first = cached();
  $first->do('select 1');  # a transaction begins, and is left open
  my $second = cached();   # handed out again with it
  $second->rollback;
  my $third = cached();
  print "one handle\n" if $first == $second && $second == $third;
}
print "perl_pools $mode done\n";
