# A first Python program against an installed Tern (install_test.sh, deb_test.sh): every
# PE's group member answers; prints "python pes [0, 1]" on 2 PEs.
from tern import charm, Chare, Group


class Hi(Chare):
    def who(self):
        return charm.myPe()


def main(args):
    print("python pes", Group(Hi).who(ret=True).get())
    charm.exit()


charm.start(main)
