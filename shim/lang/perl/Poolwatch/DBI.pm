# DBI's connect_cached, as poolwatch pools of kind "dbi".
#
# connect_cached keeps one handle per data source and attributes and hands
# the same one to every caller, who never gives it back: there is no
# checkin to see. Each call is therefore a checkout returned at once, with
# the time connect_cached took (a connect, or a ping of the cached
# handle); a cached handle handed out with a transaction still open (the
# last user began one and never ended it) is a checkin_in_transaction. The
# pool's connections are the handles it made, one pool per data source
# (its password hidden), with no size limit. Connections are identified by
# their PGconn for DBD::Pg (Poolwatch::API::pgconn_of), so a cached idle
# handle is not a libpq leak: connect_cached keeps them open until global
# destruction by design. A handle found disconnected or gone is closed.
package Poolwatch::DBI;

use strict;
use warnings;

use Scalar::Util qw(refaddr weaken);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my %pools;        # pool handle by data source
my %connections;  # by handle address: {pool, conn, dbh (weak)}
our $dbi_path;

# Wraps connect_cached now if DBI is loaded, else when the program loads
# it: a hook first in @INC loads the real DBI.pm, wraps it, and leaves
# %INC naming the real file.
sub install {
  return wrap() if defined &DBI::connect_cached;
  my $hook;
  $hook = sub {
    my (undef, $file) = @_;
    return unless $file eq 'DBI.pm';
    @INC = grep { !ref($_) || $_ != $hook } @INC;
    require DBI;
    wrap();
    $dbi_path = $INC{'DBI.pm'};
    my $source = '$INC{q(DBI.pm)} = $Poolwatch::DBI::dbi_path; 1;';
    return \$source;
  };
  unshift @INC, $hook;
}

sub wrap {
  no warnings 'redefine';
  my $connect_cached = \&DBI::connect_cached;
  *DBI::connect_cached = sub {
    my $started = clock_gettime(CLOCK_MONOTONIC);
    my $dbh = &$connect_cached;
    eval { handed_out($dbh, $_[1], clock_gettime(CLOCK_MONOTONIC) - $started) if $dbh; 1 };
    return $dbh;
  };
}

sub pool_name {
  my ($source) = @_;
  $source = defined $source ? $source : '';
  $source =~ s/(password|pwd)=[^;]*/$1=***/gi;
  return substr($source, 0, 63);
}

sub in_transaction {
  my ($dbh) = @_;
  return 0 unless $dbh->{Active};
  return 1 if $dbh->{BegunWork};
  return !$dbh->{AutoCommit} && $dbh->{Executed} ? 1 : 0;
}

sub handed_out {
  my ($dbh, $source, $waited) = @_;
  sweep();
  my $pool = $pools{$source // ''} //= Poolwatch::API::declare('dbi', pool_name($source), -1, -1);
  my $id = refaddr($dbh);
  my $known = $connections{$id};
  unless ($known) {
    my $conn = 0;
    if (($dbh->{Driver}{Name} // '') eq 'Pg') {
      $conn = Poolwatch::API::pgconn_of($dbh, $dbh->{pg_socket} // -1, $dbh->{pg_pid} // 0);
    }
    $known = $connections{$id} = {pool => $pool, conn => $conn || $id, dbh => $dbh};
    weaken($known->{dbh});
    Poolwatch::API::conn_opened($pool, $known->{conn});
  }
  Poolwatch::API::checkout_waited($pool, $known->{conn}, $waited);
  Poolwatch::API::checkin($pool, $known->{conn}, in_transaction($dbh));
}

# Handles disconnected or freed since the last look are closed.
sub sweep {
  for my $id (keys %connections) {
    my $known = $connections{$id};
    next if $known->{dbh} && $known->{dbh}{Active};
    Poolwatch::API::conn_closed($known->{pool}, $known->{conn});
    delete $connections{$id};
  }
}

1;
