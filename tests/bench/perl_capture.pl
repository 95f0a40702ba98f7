# Perl stack capture cost: checkouts and checkins of an annotated pool,
# made from Perl code DEPTH Perl frames down, through poolwatch's XS module
# (Poolwatch::API, on PERL5LIB). Each pair captures one stack (at the
# checkout); run with POOLWATCH_STACK_DEPTH=0 (no capture) and 32, the
# difference per pair is what one capture of a Perl stack costs
# (python_capture.py measures the same for Python).
#
# Usage: perl perl_capture.pl SECONDS DEPTH; prints ns_per_op=... (CPU time) pairs=...
# SECONDS 0 runs only the 2,000 warm-up pairs (for instruction counts).
# Needs libpoolwatch.so preloaded.
use strict;
use warnings;
use Poolwatch;
use Time::HiRes qw(clock_gettime CLOCK_THREAD_CPUTIME_ID);

die "poolwatch is not loaded\n" unless $Poolwatch::active;
my $pool = Poolwatch::API::declare('api', 'bench-perl', 1, 1);
my $conn = 0x1000;

sub pairs {
  my ($count) = @_;
  for (1 .. $count) {
    Poolwatch::API::checkout_waited($pool, $conn, 0);
    Poolwatch::API::checkin($pool, $conn, 0);
  }
}

# The thread's CPU time: far less disturbed by other processes than wall time.
sub timed {
  my ($count) = @_;
  my $started = clock_gettime(CLOCK_THREAD_CPUTIME_ID);
  pairs($count);
  return (clock_gettime(CLOCK_THREAD_CPUTIME_ID) - $started) * 1e9;
}

# Runs the pairs DEPTH Perl frames down, like a request handler under a framework.
sub nested {
  my ($depth, $count) = @_;
  return $depth > 0 ? nested($depth - 1, $count) : timed($count);
}

my ($seconds, $depth) = @ARGV;
nested($depth, 2000); # warm: stacks interned, caches filled
if ($seconds == 0) {
  print "pairs=2000\n";
  exit 0;
}
my $count = 2000;
while (1) {
  my $elapsed = nested($depth, $count);
  if ($elapsed >= $seconds * 1e9 || $count >= 1 << 24) {
    printf "ns_per_op=%.1f pairs=%d\n", $elapsed / $count, $count;
    last;
  }
  $count *= 2;
}
