# Connects with DBI and DBD::Pg from named subs, for the Perl frame tests.
# Modes: hold (keeps connections past POOLWATCH_LEAK_THRESHOLD, in the main
# interpreter and in an ithread), exec (execs with connections open:
# leaked), clean (disconnects everything).
use strict;
use warnings;
use threads;
use DBI;
use Time::HiRes qw(sleep);

package My::Module;

sub leak_a {
  return DBI->connect("dbi:Pg:", "", "", {RaiseError => 1, PrintError => 0}); # pwtest:leak_a
}

sub leak_b {
  return DBI->connect("dbi:Pg:", "", "", {RaiseError => 1, PrintError => 0}); # pwtest:leak_b
}

package main;

$| = 1;
my $mode = $ARGV[0];
if ($mode eq "hold") {
  my $held = My::Module::leak_a(); # pwtest:hold_a
  my $worker = threads->create(sub {
    my $mine = My::Module::leak_b(); # pwtest:thread
    sleep 0.6;
    $mine->disconnect;
    return 0;
  });
  sleep 0.6;
  $worker->join;
  $held->disconnect;
} elsif ($mode eq "exec") {
  my @kept = (My::Module::leak_a(), My::Module::leak_b(), My::Module::leak_b());
  print "perl_frames exec done\n";
  exec("true") or die "exec: $!";
} elsif ($mode eq "clean") {
  my $c = DBI->connect("dbi:Pg:", "", "", {RaiseError => 1});
  $c->do("select 1");
  $c->disconnect;
}
print "perl_frames $mode done\n";
