# Connects with DBI and DBD::Pg from named subs, for the Perl frame tests.
# Modes: hold (keeps connections past POOLWATCH_LEAK_THRESHOLD, in the main
# interpreter and in an ithread), startup (the same in a BEGIN block, while
# the program is compiled), shutdown (the same in an END block, and one
# more left to global destruction), exec (execs with connections open:
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

# Holds until poolwatch's event log (PWTEST_EVENTS) shows COUNT
# connections reported as held too long, 30 s at most.
sub wait_past_threshold {
  my ($count) = @_;
  my $path = $ENV{PWTEST_EVENTS};
  return sleep 0.6 unless $path;
  for (1 .. 1500) {
    my $n = 0;
    if (open(my $f, '<', $path)) {
      while (<$f>) { $n++ if / held_too_long pool=/ }
      close $f;
    }
    return if $n >= $count;
    sleep 0.02;
  }
}

BEGIN {
  if (($ARGV[0] // "") eq "startup") {
    my $started = My::Module::leak_a(); # pwtest:startup
    wait_past_threshold(1);
    $started->disconnect;
  }
}

our $left_to_destruction;
END {
  if (($ARGV[0] // "") eq "shutdown") {
    my $late = My::Module::leak_a(); # pwtest:end
    wait_past_threshold(2); # this one and the one left to global destruction
    $late->disconnect;
  }
}

$| = 1;
my $mode = $ARGV[0];
if ($mode eq "hold") {
  my $held = My::Module::leak_a(); # pwtest:hold_a
  my $worker = threads->create(sub {
    my $mine = My::Module::leak_b(); # pwtest:thread
    wait_past_threshold(2);
    $mine->disconnect;
    return 0;
  });
  wait_past_threshold(2);
  $worker->join;
  $held->disconnect;
} elsif ($mode eq "shutdown") {
  $left_to_destruction = My::Module::leak_b();
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
